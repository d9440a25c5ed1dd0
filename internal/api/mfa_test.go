package api_test

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
)

// Second factors over HTTP (issue 4): authenticator apps, backup codes,
// email codes through a real SMTP server, aal2 sessions.

// mfaApp is GATEHOUSE_APP_NAME of these servers: the issuer in the
// authenticator app.
const mfaApp = "Acme Gate"

// newPassword is what password changes and resets set.
const mfaNewPassword = "a new and longer passphrase 42"

// mfaEnv is an env whose server may send mail to an in-process SMTP
// server, with helpers for second factors. Besides what env checks, it
// fails the test when a six-digit code it handed out (TOTP or emailed)
// appears in the log as a number of its own.
type mfaEnv struct {
	*env
	smtp *smtptest.Server

	mailSeen int
}

// newMFAEnv starts a server with options more; withMail also starts an
// SMTP server it delivers to (GATEHOUSE_MAIL_URL smtp://…?tls=none).
func newMFAEnv(t *testing.T, db database, withMail bool, more ...option) *mfaEnv {
	t.Helper()
	var srv *smtptest.Server
	opts := append([]option{withConfig(func(c *gatehouse.Config) { c.AppName = mfaApp })}, more...)
	if withMail {
		srv = smtptest.Start(t, smtptest.Config{Mode: smtptest.Plain})
		opts = append(opts, gatehousetest.WithSMTP(srv))
	}
	return &mfaEnv{env: newEnv(t, db, opts...), smtp: srv}
}

// eachMFAEnv runs fn with a new server (newMFAEnv) on SQLite and another
// on PostgreSQL (skipped unless GATEHOUSE_TEST_POSTGRES_URL is set), in
// parallel.
func eachMFAEnv(t *testing.T, withMail bool, fn func(t *testing.T, e *mfaEnv)) {
	t.Helper()
	eachDB(t, func(t *testing.T, db database) { fn(t, newMFAEnv(t, db, withMail)) })
}

// code remembers a six-digit code that must never be logged (the
// harness's log check counts it only as a number of its own).
func (e *mfaEnv) code(c string) string {
	e.secret(c)
	return c
}

// totp answers the authenticator app's code at the server's (fake) time.
func (e *mfaEnv) totp(t testing.TB, secret string) string {
	t.Helper()
	return e.totpAt(t, secret, e.Clock.Now())
}

func (e *mfaEnv) totpAt(t testing.TB, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("totp code: %v", err)
	}
	return e.code(c)
}

// nextStep moves the clock to the next TOTP step (a code is accepted once
// per step).
func (e *mfaEnv) nextStep() { e.Clock.Advance(30 * time.Second) }

type enrolJSON struct {
	Secret     string `json:"secret"`
	OTPAuthURL string `json:"otpauth_url"`
	QRPNG      string `json:"qr_png"`
}

type backupJSON struct {
	BackupCodes []string `json:"backup_codes"`
}

type mfaRequiredJSON struct {
	MFARequired bool     `json:"mfa_required"`
	MFAToken    string   `json:"mfa_token"`
	Factors     []string `json:"factors"`
}

var backupCodeRE = regexp.MustCompile(`^[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{4}-[0-9abcdefghjkmnpqrstvwxyz]{2}$`)

// checkBackup fails t unless codes are 10 distinct xxxx-xxxx-xx codes.
func checkBackup(t testing.TB, codes []string) {
	t.Helper()
	if len(codes) != 10 {
		t.Fatalf("%d backup codes, want 10: %q", len(codes), codes)
	}
	for _, c := range codes {
		if !backupCodeRE.MatchString(c) {
			t.Errorf("backup code %q is not xxxx-xxxx-xx", c)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(codes)))) != len(codes) {
		t.Errorf("backup codes repeat: %q", codes)
	}
}

// decodePNG decodes a PNG and checks it is 256×256.
func decodePNG(t testing.TB, b []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if s := img.Bounds().Size(); s.X != 256 || s.Y != 256 {
		t.Errorf("QR image %v, want 256×256", s)
	}
}

// startTOTP starts an enrolment and checks the answer.
func (e *mfaEnv) startTOTP(t testing.TB, email string, who reqOpt) enrolJSON {
	t.Helper()
	r := e.do(t, "POST", "/v1/mfa/totp", nil, who).Want(http.StatusOK)
	var en enrolJSON
	r.Strict(&en)
	e.secret(en.Secret, en.OTPAuthURL, en.QRPNG)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("enrolment Cache-Control %q", cc)
	}
	u, err := url.Parse(en.OTPAuthURL)
	if err != nil || u.Scheme != "otpauth" || u.Host != "totp" || u.Query().Get("issuer") != mfaApp {
		t.Errorf("otpauth_url %q: %v", en.OTPAuthURL, err)
	}
	key, err := otp.NewKeyFromURL(en.OTPAuthURL)
	if err != nil {
		t.Fatalf("otpauth_url %q: %v", en.OTPAuthURL, err)
	}
	if key.Issuer() != mfaApp || key.AccountName() != email || key.Secret() != en.Secret || key.Period() != 30 ||
		key.Digits() != otp.DigitsSix || key.Algorithm() != otp.AlgorithmSHA1 {
		t.Errorf("otpauth_url %q: issuer %q account %q period %d digits %v algorithm %v",
			en.OTPAuthURL, key.Issuer(), key.AccountName(), key.Period(), key.Digits(), key.Algorithm())
	}
	img, err := base64.StdEncoding.DecodeString(en.QRPNG)
	if err != nil {
		t.Fatalf("qr_png is not base64: %v", err)
	}
	decodePNG(t, img)
	return en
}

// enrolTOTP turns an authenticator on for the signed-in user and answers
// its secret and backup codes.
func (e *mfaEnv) enrolTOTP(t testing.TB, email string, who reqOpt) (enrolJSON, []string) {
	t.Helper()
	en := e.startTOTP(t, email, who)
	var b backupJSON
	r := e.do(t, "POST", "/v1/mfa/totp/verify", map[string]string{"code": e.totp(t, en.Secret)}, who).Want(http.StatusOK)
	r.Strict(&b)
	e.secret(b.BackupCodes...)
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("backup codes Cache-Control %q", cc)
	}
	checkBackup(t, b.BackupCodes)
	e.nextStep() // the confirming code's step is used
	return en, b.BackupCodes
}

// totpAccount makes an account for email and turns an authenticator on
// through its first, password-only (aal1) sign-in; it returns those
// tokens, the enrolment and the backup codes. On a server with mail the
// account is an established one (provenAccount).
func (e *mfaEnv) totpAccount(t testing.TB, email string) (tokensJSON, enrolJSON, []string) {
	t.Helper()
	tok := e.account(t, email)
	if e.smtp != nil {
		tok = e.proveEmail(t, email, tok)
	}
	en, backup := e.enrolTOTP(t, email, bearer(tok.AccessToken))
	return tok, en, backup
}

// provenAccount makes an account for email, on a server with mail, whose
// holder has proven its email with the code the sign-up mailed (the next
// message), so that a later sign-in by code or link is its holder's and
// keeps the password and factors instead of claiming the account.
func (e *mfaEnv) provenAccount(t testing.TB, email string) tokensJSON {
	t.Helper()
	return e.proveEmail(t, email, e.account(t, email))
}

// proveEmail proves email with the sign-up's confirm message (the next
// message) through tok's session and returns tok with the user as proven.
func (e *mfaEnv) proveEmail(t testing.TB, email string, tok tokensJSON) tokensJSON {
	t.Helper()
	m := e.nextMail(t, email)
	if !strings.HasPrefix(m.Subject, gatehousetest.ConfirmSubject) || m.Code == "" {
		t.Fatalf("the sign-up's message: subject %q, text:\n%s", m.Subject, m.Text)
	}
	var out struct {
		User userJSON `json:"user"`
	}
	e.do(t, "POST", "/v1/user/email/verify", map[string]string{"code": m.Code}, bearer(tok.AccessToken)).Want(http.StatusOK).Strict(&out)
	if !out.User.EmailVerified || out.User.ID != tok.User.ID {
		t.Fatalf("proven user %+v", out.User)
	}
	tok.User = out.User
	return tok
}

// mfaRequired checks a first factor's answer is the second-factor step,
// with no credential, and answers it.
func (e *mfaEnv) mfaRequired(t testing.TB, r *response, factors ...string) mfaRequiredJSON {
	t.Helper()
	r.Want(http.StatusOK)
	var m mfaRequiredJSON
	r.Strict(&m) // no access_token, refresh_token or user
	e.secret(m.MFAToken)
	if !m.MFARequired || m.MFAToken == "" || !slices.Equal(m.Factors, factors) {
		t.Fatalf("%s: %s; want mfa_required with factors %v", r.Req, r.Body, factors)
	}
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("%s: the second-factor step sets a cookie", r.Req)
	}
	return m
}

// passwordMFA signs in with a password and answers the second-factor step.
func (e *mfaEnv) passwordMFA(t testing.TB, email string, factors ...string) mfaRequiredJSON {
	t.Helper()
	r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": email, "password": testPassword})
	return e.mfaRequired(t, r, factors...)
}

// grantMFA sends the second step.
func (e *mfaEnv) grantMFA(t testing.TB, token, factor, code string) *response {
	t.Helper()
	return e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "mfa", "mfa_token": token, "factor": factor, "code": code})
}

// aal2 finishes a sign-in that must answer aal2 tokens of methods amr; it
// checks the claims and the session as GET /v1/sessions shows it.
func (e *mfaEnv) aal2(t testing.TB, token, factor, code string, amr ...string) tokensJSON {
	t.Helper()
	var tok tokensJSON
	e.grantMFA(t, token, factor, code).Want(http.StatusOK).Strict(&tok)
	e.secret(tok.AccessToken, tok.RefreshToken)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		t.Fatalf("grant mfa: %+v", tok)
	}
	claims := unverifiedClaims(t, tok.AccessToken)
	var gotAMR []string
	if list, ok := claims["amr"].([]any); ok {
		for _, v := range list {
			s, _ := v.(string)
			gotAMR = append(gotAMR, s)
		}
	}
	if claims["aal"] != "aal2" || !slices.Equal(gotAMR, amr) {
		t.Errorf("claims aal %v amr %v; want aal2 %v", claims["aal"], claims["amr"], amr)
	}
	cur := e.currentSession(t, bearer(tok.AccessToken))
	if cur.ID != claims["sid"] || cur.AAL != "aal2" || !slices.Equal(cur.AMR, amr) {
		t.Errorf("session %+v; want sid %v, aal2 %v", cur, claims["sid"], amr)
	}
	return tok
}

// currentSession answers the session of who as GET /v1/sessions shows it.
func (e *mfaEnv) currentSession(t testing.TB, who reqOpt) sessionJSON {
	t.Helper()
	var out struct {
		Sessions []sessionJSON `json:"sessions"`
	}
	e.do(t, "GET", "/v1/sessions", nil, who).Want(http.StatusOK).Strict(&out)
	for _, s := range out.Sessions {
		if s.Current {
			return s
		}
	}
	t.Fatalf("no current session among %+v", out.Sessions)
	return sessionJSON{}
}

// profile answers GET /v1/user.
func (e *mfaEnv) profile(t testing.TB, who reqOpt) userJSON {
	t.Helper()
	var u userJSON
	e.do(t, "GET", "/v1/user", nil, who).Want(http.StatusOK).Strict(&u)
	return u
}

// checkFactors fails t unless the profile lists factors and left codes.
func (e *mfaEnv) checkFactors(t testing.TB, who reqOpt, left int, factors ...string) {
	t.Helper()
	u := e.profile(t, who)
	if u.Factors == nil || !slices.Equal(u.Factors, append([]string{}, factors...)) || u.BackupCodes != left {
		t.Errorf("profile factors %q, backup_codes_left %d; want %q, %d", u.Factors, u.BackupCodes, factors, left)
	}
}

// mail is a message the SMTP server received, taken apart.
type mail struct {
	Subject, Text, Code, Token string
}

var (
	mailCodeRE  = regexp.MustCompile(`\b[0-9]{6}\b`)
	mailTokenRE = regexp.MustCompile(`/v1/verify\?token=([A-Za-z0-9_-]+)`)
)

// nextMail waits for the next message to to and answers it.
func (e *mfaEnv) nextMail(t testing.TB, to string) mail {
	t.Helper()
	e.mailSeen++
	msgs := e.smtp.Wait(t, e.mailSeen, 15*time.Second)
	m := msgs[e.mailSeen-1]
	if !slices.Contains(m.To, to) {
		t.Fatalf("message %d went to %v, want %s", e.mailSeen, m.To, to)
	}
	p, err := m.Parse()
	if err != nil {
		t.Fatal(err)
	}
	out := mail{Subject: p.Subject, Text: p.Text}
	if c := mailCodeRE.FindString(p.Text); c != "" {
		out.Code = e.code(c)
	}
	if l := mailTokenRE.FindStringSubmatch(p.Text); l != nil {
		out.Token = l[1]
		e.secret(out.Token)
	}
	return out
}

// form posts a browser form.
func (e *mfaEnv) form(t testing.TB, path string, v url.Values) *response {
	t.Helper()
	return e.do(t, "POST", path, v.Encode(), header("Content-Type", "application/x-www-form-urlencoded"))
}

var mfaTokenFieldRE = regexp.MustCompile(`name="mfa_token" value="([^"]+)"`)

// mfaPage checks the browser's second-factor page and answers its token.
func (e *mfaEnv) mfaPage(t testing.TB, r *response, factors ...string) string {
	t.Helper()
	r.Want(http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("second-factor page Content-Type %q", ct)
	}
	if len(r.Header.Values("Set-Cookie")) != 0 {
		t.Errorf("the second-factor page sets a cookie: %v", r.Header.Values("Set-Cookie"))
	}
	m := mfaTokenFieldRE.FindSubmatch(r.Body)
	if m == nil {
		t.Fatalf("no mfa_token field in the page:\n%s", r.Body)
	}
	for _, f := range factors {
		if !bytes.Contains(r.Body, []byte(`name="factor" value="`+f+`"`)) {
			t.Errorf("the page offers no %s:\n%s", f, r.Body)
		}
	}
	e.secret(string(m[1]))
	return string(m[1])
}

// sessionCookie answers the session cookie a browser answer sets.
func (e *mfaEnv) sessionCookie(t testing.TB, r *response) string {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == e.Config.SessionCookieName && c.Value != "" {
			e.secret(c.Value)
			return c.Value
		}
	}
	t.Fatalf("%s: no session cookie in %v", r.Req, r.Header.Values("Set-Cookie"))
	return ""
}

func TestMFAEnrolAndSignIn(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "ada@example.com"
		tok := e.account(t, addr)
		who := bearer(tok.AccessToken)
		e.checkFactors(t, who, 0)

		en, backup := e.enrolTOTP(t, addr, who)
		e.checkFactors(t, who, 10, "totp")

		// The password now answers the second-factor step, no tokens.
		m := e.passwordMFA(t, addr, "backup_code", "totp")
		tokens := e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp")
		if tokens.User.ID != tok.User.ID || tokens.User.Email != addr {
			t.Errorf("user %+v", tokens.User)
		}
		// The check endpoint sees the aal2 session too.
		var chk checkJSON
		e.check(t, bearer(tokens.AccessToken)).Want(http.StatusOK).Strict(&chk)
		if chk.Session.AAL != "aal2" || !slices.Equal(chk.Session.AMR, []string{"pwd", "totp"}) {
			t.Errorf("check session %+v", chk.Session)
		}
		// A refresh keeps the assurance level.
		var refreshed tokensJSON
		e.refresh(t, tokens.RefreshToken).Want(http.StatusOK).Decode(&refreshed)
		if c := unverifiedClaims(t, refreshed.AccessToken); c["aal"] != "aal2" {
			t.Errorf("refreshed claims %v", c)
		}

		// The token is used; the code too (the step was used).
		used := e.totp(t, en.Secret)
		e.grantMFA(t, m.MFAToken, "totp", used).WantProblem(http.StatusUnauthorized, "token_revoked")
		m = e.passwordMFA(t, addr, "backup_code", "totp")
		e.grantMFA(t, m.MFAToken, "totp", used).WantProblem(http.StatusUnauthorized, "invalid_code")
		// The next step's code works on the same sign-in.
		e.nextStep()
		e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp")

		// Two steps away, either way: refused.
		e.nextStep()
		m = e.passwordMFA(t, addr, "backup_code", "totp")
		now := e.Clock.Now()
		for _, d := range []time.Duration{-time.Minute, time.Minute} {
			e.grantMFA(t, m.MFAToken, "totp", e.totpAt(t, en.Secret, now.Add(d))).WantProblem(http.StatusUnauthorized, "invalid_code")
		}
		// A wrong factor kind and a code of a factor the account lacks.
		e.grantMFA(t, m.MFAToken, "sms", "123456").WantFieldError("invalid_request", "factor")
		e.grantMFA(t, m.MFAToken, "email", e.code("654321")).WantFieldError("invalid_request", "factor")
		// Two wrong tries leave three.
		e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp")

		if len(backup) != 10 {
			t.Errorf("%d backup codes", len(backup))
		}
	})
}

func TestMFABackupCodeFlow(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "grace@example.com"
		tok, _, backup := e.totpAccount(t, addr)
		aal1 := bearer(tok.AccessToken)
		// Another account's events stay out of this one's audit.
		e.totpAccount(t, "other@example.com")

		// Typed without dashes, in upper case: still the code; once.
		typed := strings.ToUpper(strings.ReplaceAll(backup[0], "-", ""))
		e.secret(typed)
		m := e.passwordMFA(t, addr, "backup_code", "totp")
		aal2tok := e.aal2(t, m.MFAToken, "backup_code", typed, "pwd", "backup_code")
		aal2 := bearer(aal2tok.AccessToken)
		m = e.passwordMFA(t, addr, "backup_code", "totp")
		e.grantMFA(t, m.MFAToken, "backup_code", backup[0]).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.checkFactors(t, aal2, 9, "totp")

		// Admins see the use, and how many remain.
		var audit struct {
			Events []struct {
				ID        string    `json:"id"`
				UserID    string    `json:"user_id"`
				Kind      string    `json:"kind"`
				IP        string    `json:"ip"`
				UserAgent string    `json:"user_agent"`
				Detail    string    `json:"detail"`
				CreatedAt time.Time `json:"created_at"`
			} `json:"events"`
			NextCursor string `json:"next_cursor"`
		}
		e.do(t, "GET", "/v1/admin/audit?user_id="+tok.User.ID, nil).WantProblem(http.StatusUnauthorized, "unauthorized")
		e.do(t, "GET", "/v1/admin/audit?user_id="+tok.User.ID, nil, adminKey()).Want(http.StatusOK).Strict(&audit)
		var kinds []string
		for _, ev := range audit.Events {
			kinds = append(kinds, ev.Kind+":"+ev.Detail)
			if ev.UserID != tok.User.ID || ev.IP == "" || ev.CreatedAt.IsZero() {
				t.Errorf("audit event %+v", ev)
			}
		}
		if want := []string{"backup_code_used:9 backup codes left", "factor_added:totp"}; !slices.Equal(kinds, want) {
			t.Errorf("audit events %q, want %q", kinds, want)
		}
		// A page of one, then the next.
		var page struct {
			Events []struct {
				ID   string `json:"id"`
				Kind string `json:"kind"`
			} `json:"events"`
			NextCursor string `json:"next_cursor"`
		}
		e.do(t, "GET", "/v1/admin/audit?limit=1&user_id="+tok.User.ID, nil, adminKey()).Want(http.StatusOK).Decode(&page)
		if len(page.Events) != 1 || page.Events[0].Kind != "backup_code_used" || page.NextCursor == "" {
			t.Fatalf("first page %+v", page)
		}
		e.do(t, "GET", "/v1/admin/audit?limit=1&user_id="+tok.User.ID+"&cursor="+page.NextCursor, nil, adminKey()).Want(http.StatusOK).Decode(&page)
		if len(page.Events) != 1 || page.Events[0].Kind != "factor_added" {
			t.Errorf("second page %+v", page)
		}
		e.do(t, "GET", "/v1/admin/audit?user_id=not-an-id", nil, adminKey()).WantFieldError("invalid_request", "user_id")

		// A new set needs aal2; the old codes die.
		e.do(t, "POST", "/v1/mfa/backup-codes", nil, aal1).WantProblem(http.StatusForbidden, "forbidden")
		var fresh backupJSON
		e.do(t, "POST", "/v1/mfa/backup-codes", nil, aal2).Want(http.StatusOK).Strict(&fresh)
		e.secret(fresh.BackupCodes...)
		checkBackup(t, fresh.BackupCodes)
		for _, c := range fresh.BackupCodes {
			if slices.Contains(backup, c) {
				t.Errorf("new code %q is an old one", c)
			}
		}
		e.checkFactors(t, aal2, 10, "totp")
		m = e.passwordMFA(t, addr, "backup_code", "totp")
		e.grantMFA(t, m.MFAToken, "backup_code", backup[1]).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.aal2(t, m.MFAToken, "backup_code", fresh.BackupCodes[0], "pwd", "backup_code")
	})
}

func TestMFAEmailFactorFlow(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, true, func(t *testing.T, e *mfaEnv) {
		const addr = "katherine@example.com"
		tok := e.provenAccount(t, addr)
		var b backupJSON
		e.do(t, "POST", "/v1/mfa/email", nil, bearer(tok.AccessToken)).Want(http.StatusOK).Strict(&b)
		e.secret(b.BackupCodes...)
		checkBackup(t, b.BackupCodes)
		e.checkFactors(t, bearer(tok.AccessToken), 10, "email")

		m := e.passwordMFA(t, addr, "backup_code", "email")
		challenge := func(token string) *response {
			return e.do(t, "POST", "/v1/mfa/challenge", map[string]string{"mfa_token": token, "factor": "email"})
		}
		challenge(m.MFAToken).Want(http.StatusAccepted)
		msg := e.nextMail(t, addr)
		if msg.Code == "" || !strings.Contains(msg.Subject, msg.Code) {
			t.Fatalf("mail subject %q, text:\n%s", msg.Subject, msg.Text)
		}
		// Within the minute: refused, with when to try again.
		m2 := e.passwordMFA(t, addr, "backup_code", "email")
		r := challenge(m2.MFAToken)
		r.WantProblem(http.StatusTooManyRequests, "rate_limited")
		if ra := r.Header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Errorf("Retry-After %q", ra)
		}
		e.do(t, "POST", "/v1/mfa/challenge", map[string]string{"mfa_token": m2.MFAToken, "factor": "totp"}).WantFieldError("invalid_request", "factor")
		e.do(t, "POST", "/v1/mfa/challenge", map[string]string{"mfa_token": "unknown", "factor": "email"}).WantProblem(http.StatusUnauthorized, "token_revoked")

		// The code finishes its own sign-in only.
		e.grantMFA(t, m2.MFAToken, "email", msg.Code).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.aal2(t, m.MFAToken, "email", msg.Code, "pwd", "email")

		// A minute later the second sign-in gets its code.
		e.Clock.Advance(61 * time.Second)
		challenge(m2.MFAToken).Want(http.StatusAccepted)
		again := e.nextMail(t, addr)
		if again.Code == "" || !strings.Contains(again.Subject, again.Code) {
			t.Fatalf("mail subject %q", again.Subject)
		}
		e.aal2(t, m2.MFAToken, "email", again.Code, "pwd", "email")
	})
}

func TestMFAWrongTriesAndExpiry(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "barbara@example.com"
		_, en, _ := e.totpAccount(t, addr)

		m := e.passwordMFA(t, addr, "backup_code", "totp")
		right := e.totp(t, en.Secret)
		wrong := e.code(fmt.Sprintf("%06d", (mustAtoi(t, right)+500000)%1000000))
		for i := 0; i < 4; i++ {
			e.grantMFA(t, m.MFAToken, "totp", wrong).WantProblem(http.StatusUnauthorized, "invalid_code")
		}
		e.grantMFA(t, m.MFAToken, "totp", wrong).WantProblem(http.StatusTooManyRequests, "too_many_attempts")
		e.grantMFA(t, m.MFAToken, "totp", right).WantProblem(http.StatusTooManyRequests, "too_many_attempts")

		// Five minutes to finish.
		early, late := e.passwordMFA(t, addr, "backup_code", "totp"), e.passwordMFA(t, addr, "backup_code", "totp")
		e.Clock.Advance(5*time.Minute - time.Second)
		e.aal2(t, early.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp")
		e.Clock.Advance(time.Second)
		e.nextStep()
		e.grantMFA(t, late.MFAToken, "totp", e.totp(t, en.Secret)).WantProblem(http.StatusUnauthorized, "token_expired")

		e.grantMFA(t, "no-such-token", "totp", e.totp(t, en.Secret)).WantProblem(http.StatusUnauthorized, "token_revoked")
		e.grantMFA(t, "", "totp", "").WantProblem(http.StatusBadRequest, "invalid_request")
	})
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscanf(s, "%d", &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMFAAssuranceLevels(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, true, func(t *testing.T, e *mfaEnv) {
		const addr = "annie@example.com"
		tok, en, _ := e.totpAccount(t, addr)
		aal1 := bearer(tok.AccessToken)
		enrolQR, _ := base64.StdEncoding.DecodeString(en.QRPNG)
		cookie := e.browserSession(t, addr) // aal1: password only

		for _, who := range []struct {
			name string
			opt  reqOpt
		}{{"bearer", aal1}, {"cookie", e.cookie(cookie)}} {
			for _, c := range []struct{ method, path string }{
				{"DELETE", "/v1/mfa/totp"}, {"DELETE", "/v1/mfa/email"}, {"POST", "/v1/mfa/backup-codes"},
				{"POST", "/v1/mfa/email"}, {"POST", "/v1/mfa/totp"}, {"GET", "/v1/mfa/totp/qr"},
			} {
				r := e.do(t, c.method, c.path, nil, who.opt)
				if r.Status != http.StatusForbidden {
					t.Errorf("%s %s with an aal1 %s: %d %s", c.method, c.path, who.name, r.Status, r.Body)
					continue
				}
				r.WantProblem(http.StatusForbidden, "forbidden")
			}
		}
		e.checkFactors(t, aal1, 10, "totp")

		m := e.passwordMFA(t, addr, "backup_code", "totp")
		aal2 := bearer(e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp").AccessToken)

		// The QR code again: aal2, under 10 minutes.
		r := e.do(t, "GET", "/v1/mfa/totp/qr", nil, aal2).Want(http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "image/png" {
			t.Errorf("QR Content-Type %q", ct)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("QR Cache-Control %q", cc)
		}
		decodePNG(t, r.Body)
		if !bytes.Equal(r.Body, enrolQR) {
			t.Error("the QR code differs from the enrolment's")
		}
		e.secret(base64.StdEncoding.EncodeToString(r.Body))

		// aal2 adds a factor (no new codes: the account has some), but not
		// a second authenticator.
		var b backupJSON
		e.do(t, "POST", "/v1/mfa/email", nil, aal2).Want(http.StatusOK).Strict(&b)
		if b.BackupCodes == nil || len(b.BackupCodes) != 0 {
			t.Errorf("backup codes %q, want []", b.BackupCodes)
		}
		e.do(t, "POST", "/v1/mfa/email", nil, aal2).WantFieldError("invalid_request", "factor")
		e.do(t, "POST", "/v1/mfa/totp", nil, aal2).WantFieldError("invalid_request", "factor")
		e.checkFactors(t, aal2, 10, "email", "totp")

		e.Clock.Advance(10*time.Minute - time.Second)
		e.do(t, "GET", "/v1/mfa/totp/qr", nil, aal2).Want(http.StatusOK)
		e.Clock.Advance(time.Second)
		e.do(t, "GET", "/v1/mfa/totp/qr", nil, aal2).WantProblem(http.StatusForbidden, "forbidden")

		// Removing: aal2 works; the last one takes the backup codes along.
		e.do(t, "DELETE", "/v1/mfa/email", nil, aal2).Want(http.StatusNoContent)
		e.checkFactors(t, aal2, 10, "totp")
		e.do(t, "DELETE", "/v1/mfa/email", nil, aal2).WantProblem(http.StatusNotFound, "not_found")
		e.do(t, "DELETE", "/v1/mfa/totp", nil, aal2).Want(http.StatusNoContent)
		e.checkFactors(t, aal2, 0)
		e.do(t, "POST", "/v1/mfa/backup-codes", nil, aal2).WantProblem(http.StatusBadRequest, "invalid_request")
		// Sign-in needs no second factor again.
		if again := e.signIn(t, addr, testPassword); again.AccessToken == "" {
			t.Error("no tokens without a factor")
		}
	})
}

func TestMFAEnrolmentRules(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "mary@example.com"
		e.account(t, addr)
		who := e.cookie(e.browserSession(t, addr)) // lives past the clock moves below

		// Unconfirmed: nothing changes.
		first := e.startTOTP(t, addr, who)
		e.checkFactors(t, who, 0)
		e.signIn(t, addr, testPassword) // tokens, no second-factor step

		// A new enrolment replaces the pending one.
		second := e.startTOTP(t, addr, who)
		if second.Secret == first.Secret {
			t.Fatal("the new enrolment has the old secret")
		}
		e.do(t, "POST", "/v1/mfa/totp/verify", map[string]string{"code": e.totp(t, first.Secret)}, who).
			WantProblem(http.StatusUnauthorized, "invalid_code")
		e.do(t, "POST", "/v1/mfa/totp/verify", map[string]string{"code": "12345"}, who).WantFieldError("invalid_request", "code")

		// After 15 minutes the enrolment is gone.
		e.Clock.Advance(15 * time.Minute)
		p := e.do(t, "POST", "/v1/mfa/totp/verify", map[string]string{"code": e.totp(t, second.Secret)}, who).
			WantFieldError("invalid_request", "code")
		// The API says what to call next; the flows name no route.
		if p.Detail != "Start the authenticator set-up first (POST /v1/mfa/totp)." {
			t.Errorf("expired set-up: detail %q", p.Detail)
		}
		e.checkFactors(t, who, 0)

		// Started again, confirmed in time.
		third := e.startTOTP(t, addr, who)
		e.Clock.Advance(15*time.Minute - time.Second)
		var b backupJSON
		e.do(t, "POST", "/v1/mfa/totp/verify", map[string]string{"code": e.totp(t, third.Secret)}, who).Want(http.StatusOK).Strict(&b)
		e.secret(b.BackupCodes...)
		checkBackup(t, b.BackupCodes)
		e.checkFactors(t, who, 10, "totp")

		// With one confirmed, enrolling is refused (aal2: remove it first).
		e.nextStep()
		m := e.passwordMFA(t, addr, "backup_code", "totp")
		aal2 := bearer(e.aal2(t, m.MFAToken, "totp", e.totp(t, third.Secret), "pwd", "totp").AccessToken)
		e.do(t, "POST", "/v1/mfa/totp", nil, aal2).WantFieldError("invalid_request", "factor")
		e.do(t, "POST", "/v1/mfa/totp/verify", map[string]string{"code": e.totp(t, third.Secret)}, aal2).WantFieldError("invalid_request", "code")
	})
}

func TestMFAOtherFirstFactorsFlow(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, true, func(t *testing.T, e *mfaEnv) {
		const addr = "hopper@example.com"
		_, en, backup := e.totpAccount(t, addr)
		minute := func() { e.Clock.Advance(61 * time.Second) } // one message a minute per address

		// An emailed code.
		e.do(t, "POST", "/v1/otp", map[string]string{"email": addr}).Want(http.StatusAccepted)
		code := e.nextMail(t, addr).Code
		r := e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "email": addr, "code": code})
		m := e.mfaRequired(t, r, "backup_code", "totp")
		e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "otp", "totp")

		// A magic link by API.
		minute()
		e.do(t, "POST", "/v1/otp", map[string]string{"email": addr, "type": "link"}).Want(http.StatusAccepted)
		link := e.nextMail(t, addr).Token
		r = e.do(t, "POST", "/v1/token", map[string]string{"grant_type": "magic_link", "token": link})
		m = e.mfaRequired(t, r, "backup_code", "totp")
		e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "link", "totp")

		// A magic link in a browser: the second-factor page, no cookie;
		// a wrong code redraws it; the right one ends in a cookie session.
		minute()
		e.do(t, "POST", "/v1/otp", map[string]string{"email": addr, "type": "link"}).Want(http.StatusAccepted)
		link = e.nextMail(t, addr).Token
		mfaTok := e.mfaPage(t, e.form(t, "/v1/verify", url.Values{"token": {link}}), "totp", "backup_code")
		r = e.form(t, "/v1/verify", url.Values{"mfa_token": {mfaTok}, "factor": {"totp"}, "code": {e.code("000000")}})
		r.Want(http.StatusBadRequest)
		if len(r.Header.Values("Set-Cookie")) != 0 || !mfaTokenFieldRE.Match(r.Body) {
			t.Errorf("a wrong code: cookie %v, page:\n%s", r.Header.Values("Set-Cookie"), r.Body)
		}
		r = e.form(t, "/v1/verify", url.Values{"mfa_token": {mfaTok}, "factor": {"totp"}, "code": {e.totp(t, en.Secret)}}).Want(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/" {
			t.Errorf("Location %q", loc)
		}
		cookie := e.sessionCookie(t, r)
		var chk checkJSON
		e.check(t, e.cookie(cookie)).Want(http.StatusOK).Strict(&chk)
		if chk.Session.AAL != "aal2" || !chk.Session.Browser {
			t.Errorf("check: session %+v", chk.Session)
		}
		if s := e.currentSession(t, e.cookie(cookie)); s.AAL != "aal2" || !slices.Equal(s.AMR, []string{"link", "totp"}) {
			t.Errorf("cookie session %+v", s)
		}
		// The page's token is used now.
		e.form(t, "/v1/verify", url.Values{"mfa_token": {mfaTok}, "factor": {"totp"}, "code": {e.totp(t, en.Secret)}}).Want(http.StatusBadRequest)

		// Password recovery by code: mfa_required too.
		minute()
		e.nextStep()
		e.do(t, "POST", "/v1/recover", map[string]string{"email": addr}).Want(http.StatusAccepted)
		rec := e.nextMail(t, addr)
		e.secret(mfaNewPassword)
		r = e.do(t, "POST", "/v1/recover/verify", map[string]string{"email": addr, "code": rec.Code, "new_password": mfaNewPassword})
		m = e.mfaRequired(t, r, "backup_code", "totp")
		e.aal2(t, m.MFAToken, "totp", e.totp(t, en.Secret), "otp", "totp")

		// Recovery by link in a browser: the second-factor page, finished
		// with a backup code.
		minute()
		e.do(t, "POST", "/v1/recover", map[string]string{"email": addr}).Want(http.StatusAccepted)
		rec = e.nextMail(t, addr)
		mfaTok = e.mfaPage(t, e.form(t, "/v1/verify", url.Values{"token": {rec.Token}, "new_password": {testPassword}}), "totp", "backup_code")
		r = e.form(t, "/v1/verify", url.Values{"mfa_token": {mfaTok}, "factor": {"backup_code"}, "code": {backup[0]}}).Want(http.StatusSeeOther)
		cookie = e.sessionCookie(t, r)
		if s := e.currentSession(t, e.cookie(cookie)); s.AAL != "aal2" || !slices.Equal(s.AMR, []string{"link", "backup_code"}) {
			t.Errorf("cookie session %+v", s)
		}
	})
}

func TestMFARevocationKillsMFATokens(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		for i, tc := range []struct {
			name   string
			revoke func(t *testing.T, userID string, aal1 reqOpt)
		}{
			{"disable", func(t *testing.T, id string, _ reqOpt) {
				e.do(t, "PATCH", "/v1/admin/users/"+id, map[string]bool{"disabled": true}, adminKey()).Want(http.StatusOK)
			}},
			{"disable and enable", func(t *testing.T, id string, _ reqOpt) {
				e.do(t, "PATCH", "/v1/admin/users/"+id, map[string]bool{"disabled": true}, adminKey()).Want(http.StatusOK)
				e.do(t, "PATCH", "/v1/admin/users/"+id, map[string]bool{"disabled": false}, adminKey()).Want(http.StatusOK)
			}},
			{"admin revoke", func(t *testing.T, id string, _ reqOpt) {
				e.do(t, "DELETE", "/v1/admin/users/"+id+"/sessions", nil, adminKey()).Want(http.StatusNoContent)
			}},
			{"password change", func(t *testing.T, _ string, aal1 reqOpt) {
				e.secret(mfaNewPassword)
				e.do(t, "POST", "/v1/user/password", map[string]string{"current_password": testPassword, "new_password": mfaNewPassword}, aal1).
					Want(http.StatusNoContent)
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				addr := fmt.Sprintf("revoke%d@example.com", i)
				tok, en, _ := e.totpAccount(t, addr)
				aal1 := bearer(tok.AccessToken)
				m := e.passwordMFA(t, addr, "backup_code", "totp")
				tc.revoke(t, tok.User.ID, aal1)
				r := e.grantMFA(t, m.MFAToken, "totp", e.totp(t, en.Secret))
				switch r.Status {
				case http.StatusUnauthorized:
					r.WantProblem(http.StatusUnauthorized, "token_revoked")
				case http.StatusForbidden:
					r.WantProblem(http.StatusForbidden, "forbidden")
				default:
					t.Errorf("grant mfa after %s: %d %s", tc.name, r.Status, r.Body)
				}
			})
		}
	})
}

// TestAdminResetFactorsFlow: DELETE /v1/admin/users/{id}/factors turns the
// factors off and ends the sessions; the password alone signs in again.
func TestAdminResetFactorsFlow(t *testing.T) {
	t.Parallel()
	eachMFAEnv(t, false, func(t *testing.T, e *mfaEnv) {
		const addr = "lost-phone@example.com"
		tok, en, _ := e.totpAccount(t, addr)
		who := bearer(tok.AccessToken)
		aal2 := e.aal2(t, e.passwordMFA(t, addr, "backup_code", "totp").MFAToken, "totp", e.totp(t, en.Secret), "pwd", "totp")
		pending := e.passwordMFA(t, addr, "backup_code", "totp")

		r := e.do(t, "DELETE", "/v1/admin/users/"+tok.User.ID+"/factors", nil, adminKey()).Want(http.StatusNoContent)
		if len(r.Body) != 0 {
			t.Errorf("204 with a body: %s", r.Body)
		}
		for name, o := range map[string]reqOpt{"aal1": who, "aal2": bearer(aal2.AccessToken)} {
			if r := e.check(t, o); r.Status != http.StatusUnauthorized {
				t.Errorf("%s session after the reset: check %d, want 401", name, r.Status)
			}
		}
		e.nextStep()
		e.grantMFA(t, pending.MFAToken, "totp", e.totp(t, en.Secret)).WantProblem(http.StatusUnauthorized, "token_revoked")
		// The password alone signs in (strict: tokens, no second-factor
		// step), and the account has no factor left.
		after := e.signIn(t, addr, testPassword)
		e.checkFactors(t, bearer(after.AccessToken), 0)

		e.do(t, "DELETE", "/v1/admin/users/01a204d3-0000-7000-8000-000000000000/factors", nil, adminKey()).
			WantProblem(http.StatusNotFound, "not_found")
		e.do(t, "DELETE", "/v1/admin/users/"+tok.User.ID+"/factors", nil).WantProblem(http.StatusUnauthorized, "unauthorized")
	})
}
