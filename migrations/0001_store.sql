-- tact's store (SQLite and PostgreSQL alike: only types both read the same way through
-- sqlx's Any driver — TEXT, BIGINT, DOUBLE PRECISION; times are milliseconds since the epoch, UTC).

-- The audit log: one row per decision, never updated except when an author is forgotten
-- (their personal fields are blanked) or a stored text expires.
CREATE TABLE decisions (
    decision_id TEXT PRIMARY KEY,
    decided_at BIGINT NOT NULL,
    origin TEXT NOT NULL,
    comment_id TEXT,
    author_id TEXT,
    model TEXT NOT NULL,
    policy TEXT NOT NULL,
    lang TEXT NOT NULL,
    intent TEXT NOT NULL,
    sentiment TEXT NOT NULL,
    action TEXT NOT NULL,
    rule TEXT NOT NULL,
    confidence DOUBLE PRECISION NOT NULL,
    needs_review BIGINT NOT NULL,
    decision TEXT NOT NULL,
    text TEXT,
    text_expires_at BIGINT
);
CREATE INDEX decisions_by_author ON decisions (author_id);
-- Partial: without --store-text no row is in it, and a decision costs one index less.
CREATE INDEX decisions_by_text_expiry ON decisions (text_expires_at)
    WHERE text_expires_at IS NOT NULL;

-- Each author's history with the brand, as counts.
CREATE TABLE authors (
    author_id TEXT PRIMARY KEY,
    first_seen BIGINT NOT NULL,
    last_seen BIGINT NOT NULL,
    comments BIGINT NOT NULL,
    brand_answers BIGINT NOT NULL,
    last_answered_at BIGINT,
    follow_ups BIGINT NOT NULL,
    hostile_follow_ups BIGINT NOT NULL
);

-- How often each action and intent was decided for an author.
CREATE TABLE author_labels (
    author_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    label TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (author_id, kind, label)
);

-- The brand's replies to authors: through the API, seen in a thread, or reported as sent.
CREATE TABLE replies (
    reply_id TEXT PRIMARY KEY,
    author_id TEXT NOT NULL,
    comment_id TEXT,
    sent_at BIGINT NOT NULL,
    origin TEXT NOT NULL,
    text TEXT,
    text_expires_at BIGINT
);
CREATE INDEX replies_by_author ON replies (author_id);
CREATE INDEX replies_by_text_expiry ON replies (text_expires_at)
    WHERE text_expires_at IS NOT NULL;

-- Moderators' verdicts on decisions.
CREATE TABLE feedback (
    feedback_id TEXT PRIMARY KEY,
    decision_id TEXT NOT NULL,
    author_id TEXT,
    given_at BIGINT NOT NULL,
    verdict TEXT NOT NULL,
    action TEXT,
    intent TEXT,
    sentiment TEXT,
    reply_text TEXT,
    moderator TEXT
);
CREATE INDEX feedback_by_decision ON feedback (decision_id);
CREATE INDEX feedback_by_author ON feedback (author_id);
