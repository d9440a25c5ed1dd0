-- A provider's OAuth tokens for a linked identity, kept only when the
-- provider's GATEHOUSE_OAUTH_<NAME>_STORE_TOKENS asks for them. Same
-- conventions as 00001.

-- +goose Up
-- tokens is the access token, refresh token and expiry as one value sealed
-- (AES-GCM under GATEHOUSE_SECRET, bound to the identity's ID) as TOTP
-- secrets are; NULL when none is kept (the default: no provider token is
-- stored unless asked).
ALTER TABLE identities ADD COLUMN tokens BLOB;

-- +goose Down
ALTER TABLE identities DROP COLUMN tokens;
