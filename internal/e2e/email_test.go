package e2e_test

// End-to-end tests of email sign-in (codes, magic links, recovery) and of
// the delivery outbox, through the real server: gatehouse.New behind
// httptest, a fresh database (SQLite, and PostgreSQL when
// GATEHOUSE_TEST_POSTGRES_URL is set), a real SMTP server in-process, and a
// fake clock that tests move instead of sleeping. Every server's log is
// checked, when its test ends, for any code, link token, password, cookie
// or token the test saw.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
	"github.com/gatehouse/gatehouse/internal/sqlstore/sqltest"
)

// sendGap is a little more than the per-address limit of one message a
// minute: tests that ask twice for one address move the clock this much.
const sendGap = 61 * time.Second

func TestEmailCodeSignIn(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {

		// A known, passwordless account whose email is not verified yet.
		const known = "ann@example.com"
		u := e.SignUp(t, known, "")
		if u.EmailVerified {
			t.Fatal("a new account's email is verified before any code")
		}
		e.requestCode(t, map[string]any{"email": known}).Accepted()
		m := e.mail(t, known, 1)
		if m.Code == "" || len(m.Code) != 6 || m.Link != "" {
			t.Fatalf("code message: code %q, link %q:\n%s", m.Code, m.Link, m.Text)
		}
		if want := m.Code + " is your Gatehouse sign-in code"; m.Subject != want {
			t.Errorf("subject %q, want %q", m.Subject, want)
		}
		if m.From != emailFrom || m.To != known {
			t.Errorf("From %q To %q, want %s and %s", m.From, m.To, emailFrom, known)
		}

		tok := e.Tokens(e.grantOTP(t, known, m.Code))
		if got := amr(t, tok.AccessToken); !slices.Equal(got, []string{"otp"}) {
			t.Errorf("amr %q, want [otp]", got)
		}
		if tok.User.ID != u.ID || tok.User.Email != known || !tok.User.EmailVerified {
			t.Errorf("user %+v, want %s with its email verified", tok.User, u.ID)
		}
		r := e.check(t, withBearer(tok.AccessToken)).Want(http.StatusOK)
		if r.Header.Get("X-Auth-User-Id") != u.ID || r.Header.Get("X-Auth-Email") != known {
			t.Errorf("check: %v", r.Header)
		}
		// A code works once.
		e.grantOTP(t, known, m.Code).WantProblem(http.StatusUnauthorized, "invalid_code")

		// Sign-up by code: an unknown address, typed loosely, gets an
		// account when its code is used, not before.
		const newcomer = "bob@example.com"
		e.requestCode(t, map[string]any{"email": "  Bob@Example.COM "}).Accepted()
		m = e.mail(t, newcomer, 1)
		if n := len(e.users(t, newcomer)); n != 0 {
			t.Fatalf("asking for a code made %d accounts", n)
		}
		tok = e.Tokens(e.grantOTP(t, "BOB@example.com", m.Code))
		if tok.User.Email != newcomer || !tok.User.EmailVerified || tok.User.HasPassword || tok.User.ID == "" {
			t.Errorf("new user %+v", tok.User)
		}
		if users := e.users(t, newcomer); len(users) != 1 || users[0].ID != tok.User.ID {
			t.Errorf("accounts of %s: %+v, want the one the code made", newcomer, users)
		}
		e.check(t, withBearer(tok.AccessToken)).Want(http.StatusOK)
		e.grantOTP(t, newcomer, m.Code).WantProblem(http.StatusUnauthorized, "invalid_code")
	})
}

func TestEmailCodeSignupOff(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		e := newEmailEnv(t, db.URL(t), withEmailConfig(func(c *gatehouse.Config) { c.PasswordlessSignup = false }))
		const known, stranger = "cat@example.com", "dan@example.com"
		e.SignUp(t, known, "")

		for i, kind := range []string{"code", "link"} {
			if i > 0 {
				e.Clock.Advance(sendGap)
			}
			rs := e.requestCode(t, map[string]any{"email": stranger, "type": kind}).Accepted()
			rk := e.requestCode(t, map[string]any{"email": known, "type": kind}).Accepted()
			sameAnswer(t, "POST /v1/otp type "+kind+" with sign-up off", rk, rs)
			m := e.mail(t, known, i+1)
			// The stranger was answered before the known address was asked
			// for: had that queued a message, the outbox would show it now.
			// The stranger's message is stored suppressed (the same work,
			// so the same time) and never queued for delivery.
			if sup := e.messages(t, "suppressed"); len(sup) != i+1 || sup[0].To != "d***@example.com" {
				t.Fatalf("suppressed after %s requests: %v, want the stranger's %d", kind, sup, i+1)
			}
			list := slices.DeleteFunc(e.messages(t, ""), func(m emailMessage) bool { return m.Status == "suppressed" })
			if len(list) != i+1 {
				t.Fatalf("outbox after %s requests: %v, want only the known address's %d", kind, list, i+1)
			}
			for _, msg := range list {
				if msg.To != "c***@example.com" {
					t.Errorf("a message went to %s", msg.To)
				}
			}
			if n := len(e.SMTP.Messages()); n != i+1 {
				t.Errorf("%d messages delivered, want %d", n, i+1)
			}
			e.Tokens(e.grantOTP(t, known, m.Code))
		}
		e.grantOTP(t, stranger, "123456").WantProblem(http.StatusUnauthorized, "invalid_code")
		if n := len(e.users(t, stranger)); n != 0 {
			t.Errorf("%d accounts for %s with sign-up off", n, stranger)
		}
	})
}

func TestEmailCodeWrongCodes(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const addr = "eve@example.com"
		e.requestCode(t, map[string]any{"email": addr}).Accepted()
		m := e.mail(t, addr, 1)

		// Malformed codes are refused before they are compared: they do
		// not count against the code.
		for _, bad := range []string{"12345", "1234567", "abcdef", ""} {
			r := e.grantOTP(t, addr, bad)
			if !r.WantProblem(http.StatusBadRequest, "invalid_request").HasField("code") {
				t.Errorf("code %q: %s", bad, r.Body)
			}
		}
		tries := e.Config.OTPMaxAttempts
		for i := 1; i < tries; i++ {
			e.grantOTP(t, addr, wrongCode(m.Code, i)).WantProblem(http.StatusUnauthorized, "invalid_code")
		}
		e.grantOTP(t, addr, wrongCode(m.Code, tries)).WantProblem(http.StatusTooManyRequests, "too_many_attempts")
		// The code is dead, even typed right.
		e.grantOTP(t, addr, m.Code).WantProblem(http.StatusTooManyRequests, "too_many_attempts")

		e.Clock.Advance(sendGap)
		e.requestCode(t, map[string]any{"email": addr}).Accepted()
		m2 := e.mail(t, addr, 2)
		e.Tokens(e.grantOTP(t, addr, m2.Code))
	})
}

func TestEmailCodeExpiry(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		// Not the defaults, so the settings are seen to work.
		const ttl, length = 3 * time.Minute, 8
		e := newEmailEnv(t, db.URL(t), withEmailConfig(func(c *gatehouse.Config) { c.OTPTTL, c.OTPLength = ttl, length }))
		for _, c := range []struct {
			addr    string
			advance time.Duration
			expired bool
		}{
			{"fay@example.com", ttl - time.Second, false},
			{"gus@example.com", ttl + time.Second, true},
		} {
			e.requestCode(t, map[string]any{"email": c.addr}).Accepted()
			m := e.mail(t, c.addr, 1)
			if len(m.Code) != length || !strings.HasPrefix(m.Subject, m.Code+" ") {
				t.Errorf("code %q in a message with subject %q, want %d digits", m.Code, m.Subject, length)
			}
			if !strings.Contains(m.Text, "expires in 3 minutes") {
				t.Errorf("the message does not say the code lasts 3 minutes:\n%s", m.Text)
			}
			e.Clock.Advance(c.advance)
			r := e.grantOTP(t, c.addr, m.Code)
			if c.expired {
				r.WantProblem(http.StatusUnauthorized, "code_expired")
				e.grantOTP(t, c.addr, m.Code).WantProblem(http.StatusUnauthorized, "code_expired")
			} else {
				e.Tokens(r)
			}
		}
	})
}

func TestEmailCodeReplacement(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const addr = "hal@example.com"
		e.requestCode(t, map[string]any{"email": addr}).Accepted()
		first := e.mail(t, addr, 1)
		n := 1
		var second emailMail
		for second.Code == "" || second.Code == first.Code { // equal by chance: one in a million
			e.Clock.Advance(sendGap)
			e.requestCode(t, map[string]any{"email": addr}).Accepted()
			n++
			second = e.mail(t, addr, n)
		}
		e.grantOTP(t, addr, first.Code).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.Tokens(e.grantOTP(t, addr, second.Code))

		// A code request replaces a link too.
		e.Clock.Advance(sendGap)
		e.requestCode(t, map[string]any{"email": addr, "type": "link"}).Accepted()
		n++
		link := e.mail(t, addr, n)
		e.Clock.Advance(sendGap)
		e.requestCode(t, map[string]any{"email": addr}).Accepted()
		n++
		code := e.mail(t, addr, n)
		page := e.Do(t, "POST", "/v1/verify", url.Values{"token": {link.Token}}, sameOrigin()).WantHTML(http.StatusBadRequest)
		if !strings.Contains(page, "does not work") {
			t.Errorf("replaced link: %s", page)
		}
		e.grantLink(t, link.Token).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.Tokens(e.grantOTP(t, addr, code.Code))
	})
}

// TestEmailCodeUsedOnceConcurrently: of simultaneous uses of one code, or
// of one link, exactly one signs in.
func TestEmailCodeUsedOnceConcurrently(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const n = 8
		race := func(what string, try func() (int, string), win int) {
			t.Helper()
			statuses := make([]int, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					var body string
					statuses[i], body = try()
					if statuses[i] == http.StatusOK || statuses[i] == http.StatusSeeOther {
						e.Logs.Secret(body)
					}
				})
			}
			wg.Wait()
			count := map[int]int{}
			for _, s := range statuses {
				count[s]++
			}
			// Tries are counted before comparing, so past the fifth even
			// the right code answers too_many_attempts (429).
			if count[win] != 1 || count[win]+count[http.StatusUnauthorized]+count[http.StatusBadRequest]+count[http.StatusTooManyRequests] != n {
				t.Errorf("%s, %d at once: answers %v, want one %d", what, n, count, win)
			}
		}
		post := func(path string, body io.Reader, ct string, opts ...emailReqOpt) (int, string) {
			req, _ := http.NewRequest("POST", e.URL+path, body)
			req.Header.Set("Content-Type", ct)
			for _, o := range opts {
				o(req)
			}
			res, err := e.Client.Do(req)
			if err != nil {
				t.Error(err)
				return 0, ""
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			secret := string(b)
			for _, c := range res.Cookies() {
				secret = c.Value
			}
			return res.StatusCode, secret
		}

		const addr = "wes@example.com"
		e.requestCode(t, map[string]any{"email": addr}).Accepted()
		m := e.mail(t, addr, 1)
		race("a code", func() (int, string) {
			status, body := post("/v1/token", strings.NewReader(fmt.Sprintf(`{"grant_type":"otp","email":%q,"code":%q}`, addr, m.Code)), "application/json")
			if status == http.StatusOK {
				var tok gatehousetest.Tokens
				_ = json.Unmarshal([]byte(body), &tok)
				e.Logs.Secret(tok.AccessToken, tok.RefreshToken)
			}
			return status, ""
		}, http.StatusOK)

		e.Clock.Advance(sendGap)
		e.requestCode(t, map[string]any{"email": addr, "type": "link"}).Accepted()
		m = e.mail(t, addr, 2)
		race("a link", func() (int, string) {
			return post("/v1/verify", strings.NewReader(url.Values{"token": {m.Token}}.Encode()), "application/x-www-form-urlencoded", sameOrigin())
		}, http.StatusSeeOther)
	})
}

// TestEmailNewFailureStopsWorker: when New fails after it started the
// delivery worker, the worker does not outlive it (it would poll a closed
// database forever). Not parallel: it counts the process's workers.
func TestEmailNewFailureStopsWorker(t *testing.T) {
	workers := func() int {
		buf := make([]byte, 1<<20)
		for {
			n := runtime.Stack(buf, true)
			if n < len(buf) {
				return strings.Count(string(buf[:n]), "notify.(*Worker).Run(")
			}
			buf = make([]byte, 2*len(buf))
		}
	}
	before := workers()
	relay := smtptest.Start(t, smtptest.Config{})
	cfg := gatehouse.DefaultConfig()
	cfg.DatabaseURL = sqltest.SQLiteURL(t)
	cfg.PublicURL, cfg.MailFrom, cfg.AllowedRedirects = emailPublic, emailFrom, []string{emailPublic}
	cfg.Secret = gatehousetest.Secret
	cfg.MailURL = gatehousetest.SMTPURL(relay.Addr)
	cfg.Logger = slog.New(slog.DiscardHandler)
	// Validate lets a fragment through; the HTTP layer, built after the
	// worker started, refuses it.
	cfg.CORSOrigins = []string{emailApp + "#fragment"}
	g, err := gatehouse.New(context.Background(), cfg)
	if err == nil {
		g.Close()
		t.Skip("New accepted the origin; nothing fails after the worker starts")
	}
	if after := workers(); after != before {
		t.Errorf("New failed (%v) and left %d delivery workers running", err, after-before)
	}
}

// TestEmailCodeRaceWithNewRequest: codes typed while a new request
// replaces the code are wrong codes (401), not a backend failure (503).
func TestEmailCodeRaceWithNewRequest(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		e := newEmailEnv(t, db.URL(t), withEmailConfig(func(c *gatehouse.Config) {
			c.NoDelivery = true   // the codes are never read here
			c.OTPMaxAttempts = 20 // keep the wrong codes counting
		}))
		const addr = "race@example.com"
		var (
			mu       sync.Mutex
			statuses = map[int]int{}
			stop     = make(chan struct{})
			wg       sync.WaitGroup
		)
		for i := range 6 {
			wg.Go(func() {
				body := fmt.Sprintf(`{"grant_type":"otp","email":%q,"code":"99999%d"}`, addr, i)
				for {
					select {
					case <-stop:
						return
					default:
					}
					res, err := e.Client.Post(e.URL+"/v1/token", "application/json", strings.NewReader(body))
					if err != nil {
						t.Error(err)
						return
					}
					b, _ := io.ReadAll(res.Body)
					res.Body.Close()
					mu.Lock()
					if statuses[res.StatusCode]++; res.StatusCode != http.StatusUnauthorized && res.StatusCode != http.StatusTooManyRequests {
						t.Errorf("a wrong code during replacement: %d %s", res.StatusCode, b)
					}
					mu.Unlock()
				}
			})
		}
		// Replace the code again and again, for a bounded time.
		rounds, deadline := 0, time.Now().Add(3*time.Second)
		for ; rounds < 400 && time.Now().Before(deadline); rounds++ {
			e.Clock.Advance(time.Hour + time.Minute) // past the send limits
			e.requestCode(t, map[string]any{"email": addr}).Accepted()
		}
		close(stop)
		wg.Wait()
		t.Logf("%d new requests; answers to wrong codes: %v", rounds, statuses)
	})
}

// TestEmailSendLimits: one message a minute and ten an hour per address,
// answered alike for an address with an account and one without.
func TestEmailSendLimits(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const known, unknown = "ida@example.com", "jon@example.com"
		e.SignUp(t, known, "")
		both := func(what string, status int) *emailResp {
			t.Helper()
			k := e.requestCode(t, map[string]any{"email": known})
			u := e.requestCode(t, map[string]any{"email": unknown})
			sameAnswer(t, what, k, u)
			if status == http.StatusAccepted {
				return k.Accepted()
			}
			k.WantProblem(status, "rate_limited")
			return k
		}
		retryAfter := func(r *emailResp, want time.Duration) {
			t.Helper()
			if got := r.Header.Get("Retry-After"); got != strconv.Itoa(int(want/time.Second)) {
				t.Errorf("Retry-After %q, want %v", got, want)
			}
		}

		var sent []time.Time
		for i := range 10 {
			if i > 0 {
				e.Clock.Advance(sendGap)
			}
			both(fmt.Sprintf("request %d", i+1), http.StatusAccepted)
			sent = append(sent, e.Clock.Now())
			if i == 0 {
				retryAfter(both("again at once", http.StatusTooManyRequests), time.Minute)
				// The limit is the address's, however it is typed.
				e.requestCode(t, map[string]any{"email": " IDA@Example.COM"}).WantProblem(http.StatusTooManyRequests, "rate_limited")
				e.Clock.Advance(45 * time.Second)
				retryAfter(both("again after 45 s", http.StatusTooManyRequests), 15*time.Second)
			}
		}
		// The 11th within the hour, though a minute after the 10th.
		e.Clock.Advance(sendGap)
		wait := sent[0].Add(time.Hour).Sub(e.Clock.Now())
		retryAfter(both("11th in the hour", http.StatusTooManyRequests), wait)
		e.Clock.Advance(wait)
		both("after the hour", http.StatusAccepted)

		// Refused requests sent nothing: 11 messages each.
		e.mail(t, known, 11)
		e.mail(t, unknown, 11)
		if list := e.messages(t, ""); len(list) != 22 {
			t.Errorf("%d messages in the outbox, want 22", len(list))
		}
	})
}

// TestEmailEnumeration: code, link and recovery requests answer the same,
// byte for byte, for an address with an account, one whose account is
// disabled and one without; only the enabled account's gets mail (and the
// unknown one's sign-in mail when sign-up by code is on).
func TestEmailEnumeration(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		for _, signup := range []bool{true, false} {
			t.Run(fmt.Sprintf("signup=%v", signup), func(t *testing.T) {
				t.Parallel()
				e := newEmailEnv(t, db.URL(t), withEmailConfig(func(c *gatehouse.Config) { c.PasswordlessSignup = signup }))
				const known, disabled, unknown = "kim@example.com", "vic@example.com", "lou@example.com"
				e.SignUp(t, known, emailPassword)
				v := e.SignUp(t, disabled, emailPassword)
				e.Do(t, "PATCH", "/v1/admin/users/"+v.ID, map[string]any{"disabled": true}, gatehousetest.Admin()).Want(http.StatusOK)
				for i, c := range []struct {
					name, path string
					extra      map[string]any
				}{
					{"code", "/v1/otp", nil},
					{"link", "/v1/otp", map[string]any{"type": "link", "redirect_to": emailApp + "/welcome"}},
					{"recover", "/v1/recover", nil},
				} {
					if i > 0 {
						e.Clock.Advance(sendGap)
					}
					body := func(addr string) map[string]any {
						b := map[string]any{"email": addr}
						for k, v := range c.extra {
							b[k] = v
						}
						return b
					}
					k := e.Do(t, "POST", c.path, body(known)).Accepted()
					d := e.Do(t, "POST", c.path, body(disabled)).Accepted()
					u := e.Do(t, "POST", c.path, body(unknown)).Accepted()
					sameAnswer(t, c.name+": known and unknown", k, u)
					sameAnswer(t, c.name+": known and disabled", k, d)
				}
				// The known address gets all three; the unknown one a code
				// and a link when sign-up by code is on, and never a reset;
				// the disabled one nothing. Known and disabled also got the
				// confirm message their sign-ups sent before any of it.
				e.mail(t, known, 4)
				want := map[string][]string{
					"k***@example.com": {"magic_link", "recovery", "signin_code", "verify_email"},
					"v***@example.com": {"verify_email"},
				}
				if signup {
					e.mail(t, unknown, 2)
					want["l***@example.com"] = []string{"magic_link", "signin_code"}
				}
				got := map[string][]string{}
				suppressed := 0
				for _, m := range e.messages(t, "") {
					if m.Status == "suppressed" {
						suppressed++
						continue
					}
					got[m.To] = append(got[m.To], m.Kind)
				}
				// Every request that sends nothing still stores a suppressed
				// message: 3 for the disabled address, and for the unknown
				// one the reset (and with sign-up off, all 3).
				if wantSup := map[bool]int{true: 4, false: 6}[signup]; suppressed != wantSup {
					t.Errorf("%d suppressed messages, want %d", suppressed, wantSup)
				}
				for to := range got {
					slices.Sort(got[to])
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("messages by recipient: %v, want %v", got, want)
				}
			})
		}
	})
}

func TestMagicLinkSignIn(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const addr = "max@example.com"
		u := e.SignUp(t, addr, "")
		target := emailApp + "/welcome?from=mail"
		e.requestCode(t, map[string]any{"email": addr, "type": "link", "redirect_to": target}).Accepted()
		m := e.mail(t, addr, 1)
		if m.Token == "" || m.Code == "" {
			t.Fatalf("link message: link %q code %q:\n%s", m.Link, m.Code, m.Text)
		}
		if !strings.HasPrefix(m.Link, emailPublic+"/v1/verify?token=") {
			t.Errorf("link %q", m.Link)
		}
		if m.Subject != "Your Gatehouse sign-in link" {
			t.Errorf("subject %q", m.Subject)
		}
		path := m.path(t, e.Config.PublicURL)

		// Opening the link, as a person or a mail scanner does, shows one
		// button and consumes nothing.
		for range 2 {
			r := e.Do(t, "GET", path, nil)
			page := r.WantHTML(http.StatusOK)
			r.WantNoCookie()
			if strings.Count(page, "<button") != 1 || strings.Count(page, "<form") != 1 || !strings.Contains(page, `method="post"`) ||
				!strings.Contains(page, `name="token" value="`+m.Token+`"`) || strings.Contains(page, "new_password") {
				t.Fatalf("link page:\n%s", page)
			}
			if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("link page Cache-Control %q", cc)
			}
		}
		// Another site cannot press the button for the person.
		e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, gatehousetest.Header("Sec-Fetch-Site", "cross-site")).
			Want(http.StatusForbidden).WantNoCookie()

		r := e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin()).Want(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != target {
			t.Errorf("Location %q, want %q", loc, target)
		}
		if n := len(r.Header.Values("Set-Cookie")); n != 1 {
			t.Errorf("%d cookies set, want 1", n)
		}
		c := r.SetCookie(emailCookie)
		if c == nil || c.Value == "" {
			t.Fatalf("no %s cookie: %q", emailCookie, r.Header.Values("Set-Cookie"))
		}
		e.Logs.Secret(c.Value)
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || !c.Expires.After(e.Clock.Now()) {
			t.Errorf("cookie %q: want HttpOnly, Secure, SameSite=Lax, Path=/ and a future expiry", r.Header.Get("Set-Cookie"))
		}
		chk := e.check(t, gatehousetest.WithCookie(emailCookie, c.Value)).Want(http.StatusOK)
		if chk.Header.Get("X-Auth-User-Id") != u.ID || chk.Header.Get("X-Auth-Email") != addr {
			t.Errorf("check with the cookie: %v", chk.Header)
		}
		var who struct {
			User    emailUser `json:"user"`
			Session struct {
				AMR     []string `json:"amr"`
				Browser bool     `json:"browser"`
			} `json:"session"`
		}
		if err := json.Unmarshal(chk.Body, &who); err != nil {
			t.Fatal(err)
		}
		if !who.User.EmailVerified || !slices.Equal(who.Session.AMR, []string{"link"}) || !who.Session.Browser {
			t.Errorf("check: %s", chk.Body)
		}

		// The link works once, and the code it carried died with it.
		r = e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin())
		if page := r.WantHTML(http.StatusBadRequest); !strings.Contains(page, "does not work") {
			t.Errorf("used link: %s", page)
		}
		r.WantNoCookie()
		e.grantOTP(t, addr, m.Code).WantProblem(http.StatusUnauthorized, "invalid_code")

		// Links that never were.
		for _, tok := range []string{"nonsense", "", strings.Repeat("A", 200)} {
			r = e.Do(t, "POST", "/v1/verify", url.Values{"token": {tok}}, sameOrigin())
			if page := r.WantHTML(http.StatusBadRequest); !strings.Contains(page, "does not work") {
				t.Errorf("token %q: %s", tok, page)
			}
			r.WantNoCookie()
		}
		if page := e.Do(t, "GET", "/v1/verify?token=nonsense", nil).WantHTML(http.StatusNotFound); !strings.Contains(page, "does not work") || strings.Contains(page, "<button") {
			t.Errorf("unknown link page: %s", page)
		}
	})
}

// TestMagicLinkRedirectAllowList: a redirect_to that is not on the
// allow-list never becomes a Location.
func TestMagicLinkRedirectAllowList(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		for i, c := range []struct{ redirect, want string }{
			{"", "/"},
			{emailApp + "/welcome?x=1#top", emailApp + "/welcome?x=1#top"},
			{emailPublic + "/account", emailPublic + "/account"},
			{"/account?tab=sessions", "/account?tab=sessions"},
			{"https://evil.example/", "/"},
			{"//evil.example", "/"},
			{"//evil.example/welcome", "/"},
			{"///evil.example", "/"},
			{"/\\evil.example", "/"},
			{"\\\\evil.example", "/"},
			{"javascript:alert(document.cookie)", "/"},
			{"JavaScript:alert(1)//" + emailApp, "/"},
			{"data:text/html,<script>alert(1)</script>", "/"},
			{"https://app.example.test@evil.example", "/"},
			{"https://app.example.test:443@evil.example/", "/"},
			{"https://evil.example@app.example.test/", "/"}, // no credentials in a redirect, even to an allowed host
			{"https://app.example.test.evil.example/", "/"},
			{"https://evil.example/#" + emailApp, "/"},
			{"https://evil.example/?" + emailApp, "/"},
			{"http://app.example.test/welcome", "/"}, // another scheme is another origin
			{"https://app.example.test:8443/", "/"},  // and another port
			{"https:evil.example", "/"},
			{"https:/evil.example", "/"},
			{" https://evil.example", "/"},
			{"evil.example", "/"},
		} {
			addr := fmt.Sprintf("redirect%02d@example.com", i)
			body := map[string]any{"email": addr, "type": "link"}
			if c.redirect != "" {
				body["redirect_to"] = c.redirect
			}
			e.requestCode(t, body).Accepted()
			m := e.mail(t, addr, 1)
			r := e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin()).Want(http.StatusSeeOther)
			if loc := r.Header.Get("Location"); loc != c.want {
				t.Errorf("redirect_to %q: Location %q, want %q", c.redirect, loc, c.want)
			}
			if r.SetCookie(emailCookie) == nil {
				t.Errorf("redirect_to %q: no cookie", c.redirect)
			} else {
				e.Logs.Secret(r.SetCookie(emailCookie).Value)
			}
		}
	})
}

// TestMagicLinkRedirectRecheckedAtClick: a redirect_to allowed when the
// link was asked for but taken off the allow-list before the click is not
// followed.
func TestMagicLinkRedirectRecheckedAtClick(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		dbURL := db.URL(t)
		clock := gatehousetest.NewClock()
		logs := gatehousetest.NewLogs(t)
		before := newEmailEnv(t, dbURL, withEmailClock(clock), withEmailLogs(logs))
		const addr = "una@example.com"
		before.requestCode(t, map[string]any{"email": addr, "type": "link", "redirect_to": emailApp + "/welcome"}).Accepted()
		m := before.mail(t, addr, 1)
		before.Close(t)

		after := newEmailEnv(t, dbURL, withEmailClock(clock), withEmailLogs(logs),
			withEmailConfig(func(c *gatehouse.Config) { c.AllowedRedirects = []string{emailPublic} }))
		r := after.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin()).Want(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/" {
			t.Errorf("Location %q, want / once %s is off the list", loc, emailApp)
		}
		if c := r.SetCookie(emailCookie); c == nil {
			t.Error("no cookie")
		} else {
			logs.Secret(c.Value)
		}
	})
}

func TestMagicLinkExpiry(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		ttl := e.Config.MagicLinkTTL
		for _, c := range []struct {
			addr    string
			advance time.Duration
			expired bool
		}{
			{"ned@example.com", ttl - time.Second, false},
			{"ola@example.com", ttl + time.Second, true},
		} {
			e.requestCode(t, map[string]any{"email": c.addr, "type": "link"}).Accepted()
			m := e.mail(t, c.addr, 1)
			if !strings.Contains(m.Text, "expires in 15 minutes") {
				t.Errorf("the message does not say the link lasts 15 minutes:\n%s", m.Text)
			}
			e.Clock.Advance(c.advance)
			r := e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin())
			if !c.expired {
				r.Want(http.StatusSeeOther)
				if r.SetCookie(emailCookie) == nil {
					t.Fatal("no cookie from a link just inside its lifetime")
				}
				e.Logs.Secret(r.SetCookie(emailCookie).Value)
				continue
			}
			page := r.WantHTML(http.StatusBadRequest)
			if !strings.Contains(page, "expired") {
				t.Errorf("expired link page: %s", page)
			}
			r.WantNoCookie()
			e.grantLink(t, m.Token).WantProblem(http.StatusUnauthorized, "code_expired")
		}
	})
}

// TestMagicLinkGrant: API and mobile clients exchange the link's token for
// tokens; the code in the same message works on another device.
func TestMagicLinkGrant(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const addr = "pia@example.com" // unknown: sign-up by link
		e.requestCode(t, map[string]any{"email": addr, "type": "link"}).Accepted()
		m := e.mail(t, addr, 1)
		tok := e.Tokens(e.grantLink(t, m.Token))
		if got := amr(t, tok.AccessToken); !slices.Equal(got, []string{"link"}) {
			t.Errorf("amr %q, want [link]", got)
		}
		if tok.User.Email != addr || !tok.User.EmailVerified {
			t.Errorf("user %+v", tok.User)
		}
		e.check(t, withBearer(tok.AccessToken)).Want(http.StatusOK)
		e.grantLink(t, m.Token).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin()).WantHTML(http.StatusBadRequest)

		e.Clock.Advance(sendGap)
		e.requestCode(t, map[string]any{"email": addr, "type": "link"}).Accepted()
		m = e.mail(t, addr, 2)
		other := e.Tokens(e.grantOTP(t, addr, m.Code))
		if got := amr(t, other.AccessToken); !slices.Equal(got, []string{"otp"}) || other.User.ID != tok.User.ID {
			t.Errorf("code from a link message: amr %q, user %s", got, other.User.ID)
		}
		e.grantLink(t, m.Token).WantProblem(http.StatusUnauthorized, "invalid_code")
	})
}

// TestMagicLinkDevModeCookie: in dev mode on http://localhost the cookie
// goes without Secure, which browsers would drop there.
func TestMagicLinkDevModeCookie(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		const local = "http://localhost:3000"
		e := newEmailEnv(t, db.URL(t), withEmailConfig(func(c *gatehouse.Config) {
			c.Dev = true
			c.PublicURL = local
			c.AllowedRedirects = []string{local}
		}))
		const addr = "quin@example.com"
		e.requestCode(t, map[string]any{"email": addr, "type": "link", "redirect_to": local + "/home"}).Accepted()
		m := e.mail(t, addr, 1)
		if !strings.HasPrefix(m.Link, local+"/v1/verify?token=") {
			t.Errorf("link %q is not on %s", m.Link, local)
		}
		r := e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin()).Want(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != local+"/home" {
			t.Errorf("Location %q", loc)
		}
		c := r.SetCookie(emailCookie)
		if c == nil {
			t.Fatal("no cookie")
		}
		e.Logs.Secret(c.Value)
		if c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("dev cookie %q: want HttpOnly, SameSite=Lax, not Secure", r.Header.Get("Set-Cookie"))
		}
		e.check(t, gatehousetest.WithCookie(emailCookie, c.Value)).Want(http.StatusOK)
	})
}

func TestRecoverPassword(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		// An established account: its holder proved the email, so the
		// magic-link sign-ins below keep the password instead of claiming
		// the account.
		const addr = "rae@example.com"
		e.SignUp(t, addr, emailPassword)
		e.ProveEmail(t, addr, emailPassword)
		mails := len(mailsTo(e.SMTP, addr)) // the confirm message
		nextMail := func() emailMail {
			t.Helper()
			mails++
			return e.mail(t, addr, mails)
		}
		recoverMail := func() emailMail {
			t.Helper()
			e.Clock.Advance(sendGap)
			e.Do(t, "POST", "/v1/recover", map[string]any{"email": addr}).Accepted()
			m := nextMail()
			if want := m.Code + " is your Gatehouse password reset code"; m.Subject != want || m.Token == "" {
				t.Fatalf("recovery message: subject %q (want %q), link %q", m.Subject, want, m.Link)
			}
			return m
		}
		// sessions signs in three ways (two token sessions and a cookie
		// session by magic link) and answers a check of each.
		sessions := func(password string) []emailReqOpt {
			t.Helper()
			a := e.Tokens(e.PasswordGrant(t, addr, password))
			b := e.Tokens(e.PasswordGrant(t, addr, password))
			e.Clock.Advance(sendGap)
			e.requestCode(t, map[string]any{"email": addr, "type": "link"}).Accepted()
			m := nextMail()
			r := e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin()).Want(http.StatusSeeOther)
			c := r.SetCookie(emailCookie)
			if c == nil {
				t.Fatal("no cookie from a magic link")
			}
			e.Logs.Secret(c.Value)
			opts := []emailReqOpt{withBearer(a.AccessToken), withBearer(b.AccessToken), gatehousetest.WithCookie(emailCookie, c.Value)}
			for _, o := range opts {
				e.check(t, o).Want(http.StatusOK)
			}
			return opts
		}
		revoked := func(what string, opts []emailReqOpt) {
			t.Helper()
			for i, o := range opts {
				if r := e.check(t, o); r.Status != http.StatusUnauthorized {
					t.Errorf("%s: session %d from before: check %d, want 401", what, i, r.Status)
				}
			}
		}

		// By code.
		before := sessions(emailPassword)
		m := recoverMail()
		// A weak password is refused before the code is looked at: the
		// code still works afterwards.
		for _, weak := range []string{"short", "password"} {
			e.Logs.Secret(weak)
			r := e.Do(t, "POST", "/v1/recover/verify", map[string]any{"email": addr, "code": m.Code, "new_password": weak})
			if !r.WantProblem(http.StatusBadRequest, "weak_password").HasField("new_password") {
				t.Errorf("weak password %q: %s", weak, r.Body)
			}
		}
		pw1 := "a brand new passphrase 1"
		e.Logs.Secret(pw1)
		tok := e.Tokens(e.Do(t, "POST", "/v1/recover/verify", map[string]any{"email": addr, "code": m.Code, "new_password": pw1}))
		if !tok.User.HasPassword || tok.User.Email != addr {
			t.Errorf("user %+v", tok.User)
		}
		revoked("after reset by code", before)
		e.check(t, withBearer(tok.AccessToken)).Want(http.StatusOK)
		e.PasswordGrant(t, addr, emailPassword).WantProblem(http.StatusUnauthorized, "invalid_credentials")
		e.Tokens(e.PasswordGrant(t, addr, pw1))
		e.Do(t, "POST", "/v1/recover/verify", map[string]any{"email": addr, "code": m.Code, "new_password": "yet another passphrase"}).
			WantProblem(http.StatusUnauthorized, "invalid_code")

		// By the link's token, as an API client.
		before = sessions(pw1)
		m = recoverMail()
		// A recovery link is no sign-in link.
		e.grantLink(t, m.Token).WantProblem(http.StatusUnauthorized, "invalid_code")
		e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}}, sameOrigin()).WantHTML(http.StatusBadRequest)
		pw2 := "a second new passphrase 2"
		e.Logs.Secret(pw2)
		tok = e.Tokens(e.Do(t, "POST", "/v1/recover/verify", map[string]any{"token": m.Token, "new_password": pw2}))
		revoked("after reset by token", before)
		e.check(t, withBearer(tok.AccessToken)).Want(http.StatusOK)
		e.PasswordGrant(t, addr, pw1).WantProblem(http.StatusUnauthorized, "invalid_credentials")
		e.Tokens(e.PasswordGrant(t, addr, pw2))
		e.Do(t, "POST", "/v1/recover/verify", map[string]any{"token": m.Token, "new_password": "yet another passphrase"}).
			WantProblem(http.StatusUnauthorized, "invalid_code")

		// By the link, in a browser: the page asks for the new password.
		before = sessions(pw2)
		m = recoverMail()
		path := m.path(t, e.Config.PublicURL)
		r := e.Do(t, "GET", path, nil)
		page := r.WantHTML(http.StatusOK)
		r.WantNoCookie()
		if !strings.Contains(page, `name="new_password" type="password"`) || strings.Count(page, "<button") != 1 ||
			!strings.Contains(page, `name="token" value="`+m.Token+`"`) {
			t.Fatalf("recovery page:\n%s", page)
		}
		r = e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}, "new_password": {"short"}}, sameOrigin())
		if page := r.WantHTML(http.StatusBadRequest); !strings.Contains(page, "too weak") || !strings.Contains(page, `name="new_password"`) {
			t.Errorf("weak password page: %s", page)
		}
		r.WantNoCookie()
		pw3 := "a third new passphrase 3"
		e.Logs.Secret(pw3)
		r = e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}, "new_password": {pw3}}, sameOrigin()).Want(http.StatusSeeOther)
		if loc := r.Header.Get("Location"); loc != "/" {
			t.Errorf("Location %q, want /", loc)
		}
		c := r.SetCookie(emailCookie)
		if c == nil {
			t.Fatal("no cookie after a reset by link")
		}
		e.Logs.Secret(c.Value)
		if !c.HttpOnly || !c.Secure || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %q", r.Header.Get("Set-Cookie"))
		}
		revoked("after reset by link", before)
		e.check(t, gatehousetest.WithCookie(emailCookie, c.Value)).Want(http.StatusOK)
		e.PasswordGrant(t, addr, pw2).WantProblem(http.StatusUnauthorized, "invalid_credentials")
		e.Tokens(e.PasswordGrant(t, addr, pw3))
		r = e.Do(t, "POST", "/v1/verify", url.Values{"token": {m.Token}, "new_password": {"yet another passphrase"}}, sameOrigin())
		if page := r.WantHTML(http.StatusBadRequest); !strings.Contains(page, "does not work") {
			t.Errorf("used recovery link: %s", page)
		}
		r.WantNoCookie()
	})
}

// TestOutboxRetry: a temporary SMTP failure (451) is retried with backoff
// until the message goes out, once.
func TestOutboxRetry(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const addr = "sam@example.com"
		e.SMTP.RejectRecipients(smtpReject(451, "Mailbox busy, try again later"))
		e.requestCode(t, map[string]any{"email": addr}).Accepted()
		for attempt := 1; attempt <= 2; attempt++ {
			list := e.waitMessages(t, fmt.Sprintf("failed %d times", attempt), func(l []emailMessage) bool {
				return len(l) == 1 && l[0].Attempts == attempt
			})
			m := list[0]
			backoff := notify.DefaultBackoff << (attempt - 1)
			if m.Status != "pending" || m.To != "s***@example.com" || m.Kind != "signin_code" || m.Channel != "email" ||
				!strings.Contains(m.LastError, "451") || m.NextAttemptAt == nil || m.SentAt != nil ||
				m.NextAttemptAt.After(e.Clock.Now().Add(backoff)) || !m.NextAttemptAt.After(e.Clock.Now()) {
				t.Fatalf("after %d failures: %v, next attempt %v (now %v)", attempt, m, m.NextAttemptAt, e.Clock.Now())
			}
			if n := len(e.SMTP.Messages()); n != 0 {
				t.Fatalf("%d messages delivered through a 451", n)
			}
			if attempt == 2 {
				e.SMTP.RejectRecipients(nil)
			}
			e.Clock.Advance(backoff + time.Second) // the worker finds it due at its next poll
		}
		mail := e.mail(t, addr, 1)
		list := e.waitMessages(t, "sent", func(l []emailMessage) bool { return len(l) == 1 && l[0].Status == "sent" })
		// Two failed tries and the one that delivered it.
		if m := list[0]; m.SentAt == nil || m.NextAttemptAt != nil || m.Attempts != 3 {
			t.Errorf("sent message: %v, sent at %v", m, m.SentAt)
		}
		if n := len(e.SMTP.Messages()); n != 1 {
			t.Errorf("%d messages delivered, want 1", n)
		}
		e.Tokens(e.grantOTP(t, addr, mail.Code))
		e.messages(t, "") // shows no code
	})
}

// TestOutboxPermanentFailure: a permanent SMTP failure (550) fails the
// message at once; admins see why, with the recipient masked.
func TestOutboxPermanentFailure(t *testing.T) {
	t.Parallel()
	eachEmailEnv(t, func(t *testing.T, e *emailEnv) {
		const addr = "amy@example.com"
		// Relays repeat the address in their errors; admins must not see it.
		e.SMTP.RejectRecipients(smtpReject(550, "<"+addr+">: Recipient address rejected: User unknown"))
		e.requestCode(t, map[string]any{"email": addr}).Accepted()
		e.waitMessages(t, "failed", func(l []emailMessage) bool { return len(l) == 1 && l[0].Status == "failed" })

		// Another message goes out after the failed one; the failed one is
		// left alone, and the lists by status are right.
		e.SMTP.RejectRecipients(nil)
		e.Clock.Advance(time.Hour)
		const other = "ben@example.com"
		e.requestCode(t, map[string]any{"email": other}).Accepted()
		e.mail(t, other, 1)
		e.waitMessages(t, "sent", func(l []emailMessage) bool { return len(l) == 2 && l[0].Status == "sent" })

		failed := e.messages(t, "failed")
		if len(failed) != 1 {
			t.Fatalf("failed messages: %v", failed)
		}
		m := failed[0]
		if m.To != "a***@example.com" || m.Kind != "signin_code" || m.Channel != "email" || m.Attempts != 1 ||
			!strings.Contains(m.LastError, "550") || strings.Contains(m.LastError, addr) || m.NextAttemptAt != nil || m.SentAt != nil {
			t.Errorf("failed message: %v", m)
		}
		if sent := e.messages(t, "sent"); len(sent) != 1 || sent[0].To != "b***@example.com" {
			t.Errorf("sent messages: %v", sent)
		}
		if pending := e.messages(t, "pending"); len(pending) != 0 {
			t.Errorf("pending messages: %v", pending)
		}
		if n := len(mailsTo(e.SMTP, addr)); n != 0 {
			t.Errorf("%d messages to the rejected address", n)
		}
	})
}

// TestOutboxRestart: a server stopped while its worker is sending (the
// relay took the DATA and never answered) leaves the message to the next
// server on the same database, which sends it once its lease runs out.
func TestOutboxRestart(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		dbURL := db.URL(t)
		clock := gatehousetest.NewClock()
		logs := gatehousetest.NewLogs(t)
		longCodes := withEmailConfig(func(c *gatehouse.Config) { c.OTPTTL = 10 * time.Minute }) // outlive the lease
		stall := startStallSMTP(t)
		first := newEmailEnv(t, dbURL, withEmailClock(clock), withEmailLogs(logs), longCodes,
			withEmailConfig(func(c *gatehouse.Config) { c.MailURL = gatehousetest.SMTPURL(stall.Addr) }))
		const addr = "cal@example.com"
		first.requestCode(t, map[string]any{"email": addr}).Accepted()
		select {
		case <-stall.stalled:
		case <-time.After(mailWait):
			t.Fatal("the worker never sent the message's DATA")
		}
		first.Close(t) // mid-delivery

		relay := smtptest.Start(t, smtptest.Config{})
		second := newEmailEnv(t, dbURL, withEmailClock(clock), withEmailLogs(logs), longCodes, gatehousetest.WithSMTP(relay))
		// The abandoned send was not recorded as an attempt.
		if list := second.messages(t, ""); len(list) != 1 || list[0].Status != "pending" || list[0].Attempts != 0 {
			t.Fatalf("outbox after the stop: %v", list)
		}
		clock.Advance(notify.DefaultLease + time.Second)
		m := second.mail(t, addr, 1)
		second.waitMessages(t, "sent", func(l []emailMessage) bool { return len(l) == 1 && l[0].Status == "sent" })
		if n := len(relay.Messages()); n != 1 {
			t.Errorf("%d messages delivered, want 1", n)
		}
		second.Tokens(second.grantOTP(t, addr, m.Code))
	})
}

// TestOutboxTwoWorkersPostgres: two nodes on one PostgreSQL database, each
// with its worker, never send a message twice.
func TestOutboxTwoWorkersPostgres(t *testing.T) {
	t.Parallel()
	if os.Getenv(sqltest.PostgresEnv) == "" {
		t.Skipf("%s is not set", sqltest.PostgresEnv)
	}
	dbURL := sqltest.PostgresURL(t)
	clock := gatehousetest.NewClock()
	logs := gatehousetest.NewLogs(t)
	relay := smtptest.Start(t, smtptest.Config{})
	nodes := []*emailEnv{
		newEmailEnv(t, dbURL, withEmailClock(clock), withEmailLogs(logs), gatehousetest.WithSMTP(relay)),
		newEmailEnv(t, dbURL, withEmailClock(clock), withEmailLogs(logs), gatehousetest.WithSMTP(relay)),
	}
	const n = 30
	var wg sync.WaitGroup
	for i := range n {
		node := nodes[i%2]
		wg.Go(func() {
			body := fmt.Sprintf(`{"email":"node%02d@example.com"}`, i)
			res, err := node.Client.Post(node.URL+"/v1/otp", "application/json", strings.NewReader(body))
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			if b, _ := io.ReadAll(res.Body); res.StatusCode != http.StatusAccepted {
				t.Errorf("request %d: %d %s", i, res.StatusCode, b)
			}
		})
	}
	wg.Wait()
	relay.Wait(t, n, mailWait)
	// Once every message is recorded as sent, no worker can claim one again:
	// the count below is final.
	nodes[0].waitMessages(t, "all sent", func(l []emailMessage) bool {
		for _, m := range l {
			if m.Status != "sent" {
				return false
			}
		}
		return len(l) == n
	})
	got := map[string]int{}
	for _, m := range relay.Messages() {
		for _, to := range m.To {
			got[to]++
		}
		parseMail(t, logs, emailPublic, m)
	}
	if len(relay.Messages()) != n || len(got) != n {
		t.Errorf("%d messages to %d addresses, want %d to %d", len(relay.Messages()), len(got), n, n)
	}
	for i := range n {
		if addr := fmt.Sprintf("node%02d@example.com", i); got[addr] != 1 {
			t.Errorf("%s got %d messages", addr, got[addr])
		}
	}
}

// postmarkReply is one answer of the fake Postmark API.
type postmarkReply struct {
	status int
	body   string
}

// Postmark's answers, as its API reference shows them.
var (
	postmarkOK = postmarkReply{http.StatusOK,
		`{"To":"%s","SubmittedAt":"2014-02-17T07:25:01.4178645-05:00","MessageID":"0a129aee-e1cd-480d-b08d-4f48548ff48d","ErrorCode":0,"Message":"OK"}`}
	postmarkInvalid  = postmarkReply{http.StatusUnprocessableEntity, `{"ErrorCode":300,"Message":"Invalid email request"}`}
	postmarkInactive = postmarkReply{http.StatusUnprocessableEntity,
		`{"ErrorCode":406,"Message":"You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: %s. Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."}`}
	postmarkBadToken = postmarkReply{http.StatusUnauthorized, `{"ErrorCode":10,"Message":"The Server Token you provided in the X-Postmark-Server-Token request header was invalid. Please verify that you are using a valid token."}`}
	postmarkDown     = postmarkReply{http.StatusInternalServerError, `Internal Server Error`}
	postmarkBusy     = postmarkReply{http.StatusTooManyRequests, `{"ErrorCode":0,"Message":"Rate limit exceeded"}`}
)

// TestPostmarkDelivery: with GATEHOUSE_MAIL_URL=postmark://TOKEN a code
// request is delivered through Postmark's email API, requested exactly as
// Postmark documents it; its error answers fail or retry the message.
func TestPostmarkDelivery(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		for _, c := range []struct {
			name      string
			replies   []postmarkReply
			status    string
			lastError string
		}{
			{"accepted", []postmarkReply{postmarkOK}, "sent", ""},
			{"invalid request", []postmarkReply{postmarkInvalid}, "failed", "ErrorCode 300"},
			{"inactive recipient", []postmarkReply{postmarkInactive}, "failed", "ErrorCode 406"},
			{"bad token", []postmarkReply{postmarkBadToken}, "failed", "ErrorCode 10"},
			{"server error then accepted", []postmarkReply{postmarkDown, postmarkOK}, "sent", "HTTP 500"},
			{"rate limited then accepted", []postmarkReply{postmarkBusy, postmarkOK}, "sent", "HTTP 429"},
		} {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				const token = "pm-server-token-7c1e9a54"
				const addr = "dee@example.com"
				var (
					mu   sync.Mutex
					got  []map[string]string
					seen int
				)
				pm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					defer mu.Unlock()
					if r.Method != http.MethodPost || r.URL.Path != "/email" || r.URL.RawQuery != "" {
						t.Errorf("Postmark request %s %s", r.Method, r.URL)
					}
					for k, want := range map[string]string{
						"X-Postmark-Server-Token": token, "Accept": "application/json", "Content-Type": "application/json",
					} {
						if v := r.Header.Values(k); len(v) != 1 || v[0] != want {
							t.Errorf("Postmark request header %s: %q, want %q", k, v, want)
						}
					}
					var body map[string]string
					dec := json.NewDecoder(r.Body)
					if err := dec.Decode(&body); err != nil {
						t.Errorf("Postmark request body: %v", err)
					}
					keys := slices.Sorted(func(yield func(string) bool) {
						for k := range body {
							if !yield(k) {
								return
							}
						}
					})
					if want := []string{"From", "HtmlBody", "MessageStream", "Subject", "TextBody", "To"}; !slices.Equal(keys, want) {
						t.Errorf("Postmark request fields %q, want %q", keys, want)
					}
					if body["From"] != emailFrom || body["To"] != addr || body["MessageStream"] != "outbound" ||
						!strings.HasSuffix(body["Subject"], " is your Gatehouse sign-in code") {
						t.Errorf("Postmark request: From %q To %q MessageStream %q Subject %q",
							body["From"], body["To"], body["MessageStream"], body["Subject"])
					}
					code, _, _ := strings.Cut(body["Subject"], " ")
					if !strings.Contains(body["TextBody"], code) || !strings.Contains(body["HtmlBody"], code) ||
						!strings.Contains(body["HtmlBody"], "<html") {
						t.Errorf("Postmark request bodies lack the code %q or HTML:\n%s\n%s", code, body["TextBody"], body["HtmlBody"])
					}
					got = append(got, body)
					reply := postmarkOK
					if seen < len(c.replies) {
						reply = c.replies[seen]
					} else {
						t.Errorf("Postmark request %d, want %d", seen+1, len(c.replies))
					}
					seen++
					w.Header().Set("Content-Type", "application/json")
					if reply.status >= 500 {
						w.Header().Set("Content-Type", "text/plain")
					}
					w.WriteHeader(reply.status)
					text := reply.body
					if strings.Contains(text, "%s") {
						text = fmt.Sprintf(text, addr)
					}
					_, _ = io.WriteString(w, text)
				}))
				t.Cleanup(pm.Close)
				e := newEmailEnv(t, db.URL(t), withEmailConfig(func(cfg *gatehouse.Config) {
					cfg.MailURL = "postmark://" + token
					cfg.PostmarkAPIURL = pm.URL
				}))
				e.Logs.Secret(token)
				e.requestCode(t, map[string]any{"email": addr}).Accepted()
				for attempt := 1; attempt < len(c.replies); attempt++ {
					e.waitMessages(t, fmt.Sprintf("failed %d times", attempt), func(l []emailMessage) bool {
						return len(l) == 1 && l[0].Attempts == attempt
					})
					e.Clock.Advance(notify.DefaultBackoff<<(attempt-1) + time.Second)
				}
				list := e.waitMessages(t, c.status, func(l []emailMessage) bool { return len(l) == 1 && l[0].Status == c.status })
				m := list[0]
				// Every try counts, the one that delivered it or gave up included.
				wantAttempts := len(c.replies)
				if m.Attempts != wantAttempts ||
					!strings.Contains(m.LastError, c.lastError) || strings.Contains(m.LastError, addr) {
					t.Errorf("message: %v", m)
				}
				mu.Lock()
				requests := slices.Clone(got)
				mu.Unlock()
				if len(requests) != len(c.replies) {
					t.Fatalf("%d Postmark requests, want %d", len(requests), len(c.replies))
				}
				if c.status == "sent" {
					code, _, _ := strings.Cut(requests[len(requests)-1]["Subject"], " ")
					e.Logs.Secret(code)
					e.Tokens(e.grantOTP(t, addr, code))
				}
			})
		}
	})
}

// benchmarkRequestCode measures, in-process, the answer to one address
// with or without an account (on SQLite, and on PostgreSQL when
// GATEHOUSE_TEST_POSTGRES_URL is set): POST /v1/otp with sign-up by code on (the
// default) and off, and POST /v1/recover. Known and unknown must cost the
// same (docs/contract.md: "the same … in body, status and (within noise) timing").
// The clock moves past the send limits before each request; nothing is
// delivered (the outbox only fills).
func benchmarkRequestCode(b *testing.B, known bool) {
	dbs := []emailDB{emailSQLite}
	if os.Getenv(sqltest.PostgresEnv) != "" {
		dbs = append(dbs, gatehousetest.Postgres)
	}
	for _, db := range dbs {
		b.Run(db.Name, func(b *testing.B) { benchmarkRequestCodeOn(b, db, known) })
	}
}

func benchmarkRequestCodeOn(b *testing.B, db emailDB, known bool) {
	for _, c := range []struct {
		name, path string
		signup     bool
	}{
		{"code", "/v1/otp", true},
		{"code-signup-off", "/v1/otp", false},
		{"recover", "/v1/recover", true},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newEmailEnv(b, db.URL(b), gatehousetest.QuietLog(), withEmailConfig(func(cfg *gatehouse.Config) {
				cfg.NoDelivery = true
				cfg.PasswordlessSignup = c.signup
			}))
			const addr = "bench@example.com"
			if known {
				e.SignUp(b, addr, "")
			}
			body := []byte(`{"email":"` + addr + `"}`)
			for b.Loop() {
				e.Clock.Advance(time.Hour + time.Minute)
				req := httptest.NewRequest("POST", c.path, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				e.G.ServeHTTP(w, req)
				if w.Code != http.StatusAccepted {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
		})
	}
}

func BenchmarkRequestCodeKnown(b *testing.B)   { benchmarkRequestCode(b, true) }
func BenchmarkRequestCodeUnknown(b *testing.B) { benchmarkRequestCode(b, false) }
