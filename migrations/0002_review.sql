-- The moderators' review queue (`/ui`, `GET /v1/queue`).

-- The thread a comment came in (JSON, as the request gave it), kept and expired with its text.
ALTER TABLE decisions ADD COLUMN thread TEXT;

-- The queue reads the last days' decisions, and the day's figures the last day's.
CREATE INDEX decisions_by_time ON decisions (decided_at);

-- Whether the brand's reply to a comment was sent (then it leaves the queue).
CREATE INDEX replies_by_comment ON replies (comment_id);
