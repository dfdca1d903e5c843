"""The product's web layer, on aiohttp: the rehearsal page and webhook mode.

``bot.web.webhook`` receives Telegram's updates in webhook mode; ``bot.web.rehearsal`` serves
the page whose phones drive the bot against the local Bot API server. Page assets are files of
this package (``static/``): the page needs no network.
"""
