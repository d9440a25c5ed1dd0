-- One-time codes and magic links (challenges), and the durable outbox of
-- the messages that carry them (messages). Same conventions as 00001.

-- +goose Up
-- At most one challenge per purpose and address: a new request replaces the
-- old one (PutChallenge upserts on this key). user_id is NULL when no
-- account had the address (passwordless sign-up); a deleted user takes its
-- challenges along.
CREATE TABLE challenges (
    id              TEXT    NOT NULL PRIMARY KEY,
    purpose         TEXT    NOT NULL,
    address         TEXT    NOT NULL,
    user_id         TEXT    REFERENCES users (id) ON DELETE CASCADE,
    code_hash       BLOB    NOT NULL,
    link_hash       BLOB,
    redirect_to     TEXT    NOT NULL DEFAULT '',
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    link_expires_at INTEGER,
    consumed_at     INTEGER,
    CONSTRAINT challenges_purpose_address_key UNIQUE (purpose, address),
    CONSTRAINT challenges_link_hash_key UNIQUE (link_hash)
) STRICT;

CREATE INDEX challenges_user_id_idx ON challenges (user_id);

-- The outbox. payload (the sealed rendered message, which holds a code) is
-- emptied once the message is sent or given up. locked_until is the lease
-- of the worker that claimed the message; a lease that runs out (a worker
-- that died) makes the message claimable again.
CREATE TABLE messages (
    id              TEXT    NOT NULL PRIMARY KEY,
    kind            TEXT    NOT NULL,
    channel         TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    payload         BLOB    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending',
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER,
    last_error      TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER,
    failed_at       INTEGER,
    CONSTRAINT messages_status_check CHECK (status IN ('pending', 'sent', 'failed', 'suppressed'))
) STRICT;

-- Claiming: pending messages in the order they are claimed (oldest
-- first). Partial, so it holds only the few pending rows, however many sent
-- ones pile up, and a claim reads it in order and stops at its limit.
CREATE INDEX messages_claim_idx ON messages (created_at, id, next_attempt_at)
    WHERE status = 'pending';
-- Listing for admins, newest first, with and without a status.
CREATE INDEX messages_status_list_idx ON messages (status, created_at, id);
CREATE INDEX messages_list_idx ON messages (created_at, id);

-- +goose Down
DROP TABLE messages;
DROP TABLE challenges;
