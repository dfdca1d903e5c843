"""Schema versions, applied in order at open; ``PRAGMA user_version`` records the last one.

Never edit a version that has shipped: add the next one. The constraints state what must
never happen, so that a bug in the code cannot write it either.
"""

V1_REGISTRY = """
CREATE TABLE members (
    code TEXT PRIMARY KEY CHECK (code <> '' AND code = upper(code)),
    name_en TEXT NOT NULL CHECK (name_en <> ''),
    name_fr TEXT NOT NULL CHECK (name_fr <> ''),
    name_ar TEXT NOT NULL CHECK (name_ar <> ''),
    country TEXT NOT NULL,
    region TEXT NOT NULL CHECK (region IN ('african', 'arab', 'asian')),
    kind TEXT NOT NULL CHECK (kind IN ('capital', 'city', 'office')),
    council TEXT NOT NULL CHECK (council IN ('permanent', 'elected', 'none')),
    active INTEGER NOT NULL CHECK (active IN (0, 1))
);

-- One row per member, year and fund; a year without a row owed nothing to that fund.
CREATE TABLE dues (
    member TEXT NOT NULL REFERENCES members(code),
    year INTEGER NOT NULL CHECK (year BETWEEN 1970 AND 2200),
    fund TEXT NOT NULL CHECK (fund IN ('organization', 'cooperation_fund')),
    due TEXT NOT NULL CHECK (CAST(due AS REAL) >= 0),
    paid TEXT NOT NULL CHECK (CAST(paid AS REAL) >= 0),
    PRIMARY KEY (member, year, fund)
);

-- Telegram accounts the bot has seen. The primary key makes it impossible to bind one
-- account to two members; secretariat accounts belong to no member.
CREATE TABLE users (
    telegram_id INTEGER PRIMARY KEY,
    language TEXT CHECK (language IN ('ar', 'en', 'fr')),
    telegram_language TEXT,
    first_name TEXT,
    username TEXT,
    member TEXT REFERENCES members(code),
    role TEXT CHECK (role IN ('delegate', 'chair', 'secretariat')),
    joined_at TEXT,
    CHECK (
        (role IS NULL AND member IS NULL)
        OR (role = 'secretariat' AND member IS NULL)
        OR (role IN ('delegate', 'chair') AND member IS NOT NULL)
    )
);
CREATE INDEX users_member ON users(member);

-- Invitation codes are kept only as SHA-256 hashes.
CREATE TABLE invitations (
    id INTEGER PRIMARY KEY,
    code_hash TEXT NOT NULL UNIQUE,
    member TEXT REFERENCES members(code),
    role TEXT NOT NULL CHECK (role IN ('delegate', 'chair', 'secretariat')),
    created_at TEXT NOT NULL,
    created_by INTEGER,
    expires_at TEXT NOT NULL,
    used_at TEXT,
    used_by INTEGER,
    revoked_at TEXT,
    CHECK ((role = 'secretariat') = (member IS NULL)),
    CHECK ((used_at IS NULL) = (used_by IS NULL))
);

-- A code is used once: once used_at is set it can never change again.
CREATE TRIGGER invitations_single_use BEFORE UPDATE OF used_at ON invitations
WHEN OLD.used_at IS NOT NULL AND NEW.used_at IS NOT OLD.used_at
BEGIN
    SELECT RAISE(ABORT, 'invitation already used');
END;

-- Pseudonyms stand for people in the audit log, so that forgetting a person (deleting
-- the pseudonym row) leaves the hash chain intact.
CREATE TABLE pseudonyms (
    telegram_id INTEGER PRIMARY KEY,
    pseudonym TEXT NOT NULL UNIQUE
);

-- Tamper-evident log: each entry carries the hash of the one before it.
CREATE TABLE audit_log (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT,
    member TEXT,
    action TEXT NOT NULL,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL UNIQUE
);
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

-- Multi-step conversations (composing a notice, confirming a ballot) live here rather
-- than in memory, so handlers can run concurrently and survive restarts.
CREATE TABLE drafts (
    telegram_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    data TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (telegram_id, kind)
);
"""

V2_OUTBOX = """
-- A broadcast (a secretariat notice, or one the bot sends itself: ballots, results,
-- postponements) and its recipients. Every recipient's rows are written in the same
-- transaction as the notice, before anything is sent.
CREATE TABLE notices (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    audience TEXT,
    ref TEXT,
    created_by INTEGER,
    created_at TEXT NOT NULL,
    progress_chat INTEGER,
    progress_message INTEGER,
    finished_at TEXT,
    reported_at TEXT
);
CREATE INDEX notices_ref ON notices(ref);

-- One row per recipient and part (texts over 4096 characters go in several parts).
-- pending -> sending -> delivered | unreachable | failed; a row found 'sending' after a
-- crash may or may not have reached Telegram: it becomes 'lost' and is reported, never
-- sent again (at most once).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    notice INTEGER NOT NULL REFERENCES notices(id),
    telegram_id INTEGER NOT NULL,
    part INTEGER NOT NULL DEFAULT 0,
    member TEXT,
    language TEXT NOT NULL,
    payload TEXT NOT NULL,
    photo BLOB,
    state TEXT NOT NULL DEFAULT 'pending'
        CHECK (state IN ('pending', 'sending', 'delivered', 'unreachable', 'failed', 'lost')),
    attempts INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    message_id INTEGER,
    error TEXT,
    UNIQUE (notice, telegram_id, part),
    CHECK ((state = 'delivered') = (message_id IS NOT NULL))
);
CREATE INDEX outbox_pending ON outbox(state, not_before);
"""

V3_MEETINGS = """
CREATE TABLE meetings (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL CHECK (body IN ('gc', 'council')),
    kind TEXT NOT NULL CHECK (kind IN ('ordinary', 'extraordinary')),
    title TEXT NOT NULL CHECK (title <> ''),
    starts_at TEXT NOT NULL,
    timezone TEXT NOT NULL,
    chair_member TEXT NOT NULL REFERENCES members(code),
    created_at TEXT NOT NULL,
    quorum_called_at TEXT,
    postponed_until TEXT,
    reconvened_at TEXT,
    in_session_at TEXT,
    closed_at TEXT
);

CREATE TABLE agenda_items (
    meeting INTEGER NOT NULL REFERENCES meetings(id),
    item TEXT NOT NULL,
    title_en TEXT NOT NULL,
    title_fr TEXT NOT NULL,
    title_ar TEXT NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (meeting, item)
);

-- Presence is per member: any of its delegates checks it in or out.
CREATE TABLE attendance (
    meeting INTEGER NOT NULL REFERENCES meetings(id),
    member TEXT NOT NULL REFERENCES members(code),
    present INTEGER NOT NULL CHECK (present IN (0, 1)),
    changed_at TEXT NOT NULL,
    PRIMARY KEY (meeting, member)
);

-- A question put to the vote: a resolution on an agenda item, or a round of an election.
CREATE TABLE questions (
    id INTEGER PRIMARY KEY,
    meeting INTEGER NOT NULL REFERENCES meetings(id),
    kind TEXT NOT NULL CHECK (kind IN ('resolution', 'council_election', 'single_election')),
    item TEXT,
    election INTEGER,
    round INTEGER NOT NULL DEFAULT 1,
    secret INTEGER NOT NULL CHECK (secret IN (0, 1)),
    opened_at TEXT NOT NULL,
    opened_by INTEGER,
    closed_at TEXT,
    outcome TEXT CHECK (outcome IN ('adopted', 'rejected', 'elected', 'runoff', 'pending')),
    result TEXT,
    announced_at TEXT,
    turnout_chat INTEGER,
    turnout_message INTEGER,
    CHECK (kind <> 'resolution' OR item IS NOT NULL)
);
-- At most one question open at a time in a meeting.
CREATE UNIQUE INDEX questions_one_open ON questions(meeting) WHERE closed_at IS NULL;

-- The roll, fixed when the vote opens (R6).
CREATE TABLE roll (
    question INTEGER NOT NULL REFERENCES questions(id),
    member TEXT NOT NULL REFERENCES members(code),
    PRIMARY KEY (question, member)
);

-- Who has voted, for every question: one row per member, ever (R5). The primary key is
-- what makes two delegates of one member confirming at the same instant yield one vote.
CREATE TABLE participation (
    question INTEGER NOT NULL,
    member TEXT NOT NULL,
    FOREIGN KEY (question, member) REFERENCES roll(question, member),
    PRIMARY KEY (question, member)
) WITHOUT ROWID;

-- Open votes: who voted what is part of the record.
CREATE TABLE votes (
    question INTEGER NOT NULL,
    member TEXT NOT NULL,
    choice TEXT NOT NULL,
    cast_by INTEGER,
    FOREIGN KEY (question, member) REFERENCES participation(question, member),
    PRIMARY KEY (question, member)
);

-- Secret ballots (R12): no member, no user, no time; a WITHOUT ROWID table keyed by a
-- random receipt keeps rows in receipt order, so storage order does not follow voting order.
CREATE TABLE ballots (
    question INTEGER NOT NULL REFERENCES questions(id),
    receipt TEXT NOT NULL,
    choice TEXT NOT NULL,
    PRIMARY KEY (question, receipt)
) WITHOUT ROWID;
"""

V4_ELECTIONS = """
CREATE TABLE elections (
    id INTEGER PRIMARY KEY,
    meeting INTEGER NOT NULL REFERENCES meetings(id),
    type TEXT NOT NULL CHECK (type IN ('council', 'single')),
    title TEXT NOT NULL CHECK (title <> ''),
    seats INTEGER NOT NULL CHECK (seats BETWEEN 1 AND 23),
    created_at TEXT NOT NULL,
    CHECK (type = 'council' OR seats = 1)
);

-- Candidates in the order they were created: a member code, or for people (the
-- Secretary General) a short code with the person's name.
CREATE TABLE candidates (
    election INTEGER NOT NULL REFERENCES elections(id),
    code TEXT NOT NULL,
    name TEXT,
    position INTEGER NOT NULL,
    PRIMARY KEY (election, code),
    UNIQUE (election, position)
);

-- The candidates of each round (a run-off is among fewer).
ALTER TABLE questions ADD COLUMN candidates TEXT;
ALTER TABLE questions ADD COLUMN seats INTEGER;
"""

V5_SESSION_REQUESTS = """
-- Requests for an extraordinary session (R9): who signed them and who approved them, one
-- row per member each.
CREATE TABLE session_requests (
    id INTEGER PRIMARY KEY,
    body TEXT NOT NULL CHECK (body IN ('gc', 'council')),
    questions TEXT NOT NULL CHECK (questions <> ''),
    created_by INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE request_signatures (
    request INTEGER NOT NULL REFERENCES session_requests(id),
    member TEXT NOT NULL REFERENCES members(code),
    PRIMARY KEY (request, member)
);
CREATE TABLE request_approvals (
    request INTEGER NOT NULL REFERENCES session_requests(id),
    member TEXT NOT NULL REFERENCES members(code),
    PRIMARY KEY (request, member)
);
"""

V6_AUDIT_HEAD = """
-- The audit log's last entry, kept apart from it: removing entries from the end leaves a
-- chain that is intact by itself, but no longer ends where this row says.
CREATE TABLE audit_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    id INTEGER NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (singleton, id, hash)
    SELECT 1, id, hash FROM audit_log ORDER BY id DESC LIMIT 1;
CREATE TRIGGER audit_head_follows AFTER INSERT ON audit_log
WHEN NEW.id > coalesce((SELECT id FROM audit_head), 0)
BEGIN
    INSERT OR REPLACE INTO audit_head (singleton, id, hash) VALUES (1, NEW.id, NEW.hash);
END;
"""

V7_INVITATION_REMINDERS = """
-- When the secretariat was reminded that an unused invitation is about to expire (once).
ALTER TABLE invitations ADD COLUMN reminded_at TEXT;
"""

V8_VOTE_INTEGRITY = """
-- Every stored choice is one its question offers: Yes, No or Abstain on a resolution; on an
-- election a list of distinct candidates of that round, at most as many as its seats (a
-- blank ballot is the empty list). A forged or stale button can never store anything else.
CREATE TRIGGER ballots_choice_valid BEFORE INSERT ON ballots
WHEN NOT coalesce((
    SELECT CASE
        WHEN q.kind = 'resolution' THEN NEW.choice IN ('y', 'n', 'a')
        WHEN json_valid(NEW.choice) AND json_type(NEW.choice) = 'array' THEN
            json_array_length(NEW.choice) <= coalesce(q.seats, 1)
            AND (SELECT count(DISTINCT c.value) FROM json_each(NEW.choice) c)
                = json_array_length(NEW.choice)
            AND NOT EXISTS (
                SELECT 1 FROM json_each(NEW.choice) c
                WHERE c.type <> 'text'
                   OR c.value NOT IN (SELECT k.value FROM json_each(coalesce(q.candidates, '[]')) k))
        ELSE 0
    END
    FROM questions q WHERE q.id = NEW.question), 0)
BEGIN
    SELECT RAISE(ABORT, 'choice not offered by this question');
END;

CREATE TRIGGER votes_choice_valid BEFORE INSERT ON votes
WHEN NOT coalesce((
    SELECT q.kind = 'resolution' AND NEW.choice IN ('y', 'n', 'a')
    FROM questions q WHERE q.id = NEW.question), 0)
BEGIN
    SELECT RAISE(ABORT, 'choice not offered by this question');
END;

-- The last text of the chair's live turnout message, so that an edit is sent only when it
-- changes something, also after a restart.
ALTER TABLE questions ADD COLUMN turnout_text TEXT;
"""

V9_REQUESTED_BY = """
-- R9: a council session requested by the Secretary General or by the council chair is
-- convened on that request alone; who requested it in that capacity is recorded.
ALTER TABLE session_requests ADD COLUMN requested_by TEXT
    CHECK (requested_by IN ('secretary_general', 'council_chair'));
"""

V10_OUTBOX_FILES = """
-- Photos and documents the outbox sends: one row per distinct file (not a copy in every
-- recipient's row), uploaded once; what Telegram calls it afterwards is re-sent instead.
CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('photo', 'document')),
    sha256 TEXT NOT NULL,
    file_name TEXT,
    mime_type TEXT,
    data BLOB NOT NULL,
    size INTEGER NOT NULL,
    telegram_file_id TEXT,
    created_at TEXT NOT NULL
);
CREATE UNIQUE INDEX files_content ON files(kind, sha256, ifnull(file_name, ''));
ALTER TABLE outbox ADD COLUMN file INTEGER REFERENCES files(id);
INSERT INTO files (kind, sha256, data, size, created_at)
    SELECT 'photo', 'outbox-' || min(id), photo, length(photo), strftime('%Y-%m-%dT%H:%M:%SZ')
    FROM outbox WHERE photo IS NOT NULL GROUP BY photo;
UPDATE outbox SET file = (SELECT f.id FROM files f WHERE f.kind = 'photo' AND f.data = outbox.photo)
    WHERE photo IS NOT NULL;
ALTER TABLE outbox DROP COLUMN photo;
-- The delivery loop looks for each chat's oldest unfinished row.
CREATE INDEX outbox_unfinished ON outbox(id) WHERE state IN ('pending', 'sending');
"""

V11_SECRETARIAT_SESSION = """
-- Attendance by hand: who last marked the member (its delegate, or the secretariat with a
-- reason). Rows written before this version were all marked by delegates.
ALTER TABLE attendance ADD COLUMN marked_by TEXT NOT NULL DEFAULT 'delegate'
    CHECK (marked_by IN ('delegate', 'secretariat'));
ALTER TABLE attendance ADD COLUMN reason TEXT;

-- A question withdrawn by the chair before its close: closed, nothing counted, no outcome
-- of its own ('withdrawn' in its result); its ballots stay in the record.
ALTER TABLE questions ADD COLUMN withdrawn_at TEXT;
CREATE TRIGGER questions_withdrawn_closed BEFORE UPDATE OF withdrawn_at ON questions
WHEN NEW.withdrawn_at IS NOT NULL AND (OLD.closed_at IS NOT NULL OR NEW.closed_at IS NULL
    OR NEW.outcome IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'only an open question can be withdrawn, and it then has no outcome');
END;

-- A vote's deadline: it never closes the vote. Roll members that have not voted are
-- reminded at remind_at (once), and the chair is told at the deadline (once).
CREATE TABLE vote_deadlines (
    question INTEGER PRIMARY KEY REFERENCES questions(id),
    deadline_at TEXT NOT NULL,
    remind_at TEXT,
    reminded_at TEXT,
    told_at TEXT,
    CHECK (remind_at IS NULL OR remind_at <= deadline_at)
);
"""

MIGRATIONS: list[str] = [
    V1_REGISTRY,
    V2_OUTBOX,
    V3_MEETINGS,
    V4_ELECTIONS,
    V5_SESSION_REQUESTS,
    V6_AUDIT_HEAD,
    V7_INVITATION_REMINDERS,
    V8_VOTE_INTEGRITY,
    V9_REQUESTED_BY,
    V10_OUTBOX_FILES,
    V11_SECRETARIAT_SESSION,
]
