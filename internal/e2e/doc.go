// Package e2e holds the end-to-end tests of email and SMS sign-in: a real
// Gatehouse served over HTTP on a fresh database (SQLite, and PostgreSQL
// when GATEHOUSE_TEST_POSTGRES_URL is set), delivering to an in-process
// SMTP server and a fake of Twilio's Messages API, with a fake clock and a
// log that must never hold a secret. It has no code of its own.
package e2e
