-- The moderators' review queue (`/ui`, `GET /v1/queue`).

-- The thread a comment came in (JSON, as the request gave it), kept and expired with its text.
ALTER TABLE decisions ADD COLUMN thread TEXT;

-- The queue reads the last days' decisions, and the day's figures the last day's.
CREATE INDEX decisions_by_time ON decisions (decided_at);

-- Whether the brand's reply to a comment was sent (then it leaves the queue).
CREATE INDEX replies_by_comment ON replies (comment_id);

-- Each author's hostile comments in all (the follow-ups count only those after an answer):
-- what lets one upsert add a group's comments to an author, whether or not the brand had
-- answered before it. Counted from the audit log for the authors already known.
ALTER TABLE authors ADD COLUMN hostile BIGINT NOT NULL DEFAULT 0;
UPDATE authors SET hostile = (SELECT COUNT(*) FROM decisions d
    WHERE d.author_id = authors.author_id
      AND (d.rule = 'rsra-wait' OR d.action = 'delete_and_ban' OR d.intent IN ('troll', 'abuse')));
