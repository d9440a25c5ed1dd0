package e2e_test

// End-to-end tests of sign-in by SMS code: a real Gatehouse over HTTP on a
// fresh database, delivering through the Twilio sender to a local fake of
// the Twilio Messages API that checks every request as Twilio documents it.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse"
	"github.com/gatehouse/gatehouse/internal/gatehousetest"
	"github.com/gatehouse/gatehouse/internal/notify"
	"github.com/gatehouse/gatehouse/internal/notify/sms/twiliotest"
)

const (
	twilioSID   = gatehousetest.TwilioSID
	twilioToken = gatehousetest.TwilioToken
	twilioFrom  = gatehousetest.TwilioFrom
	// Valid numbers of three countries.
	phoneUS  = "+14155552671"
	phoneUS2 = "+14155552672"
	phoneCA  = "+16135550123"
	phoneGB  = "+447400123456"
)

// smsEnv is an emailEnv whose SMS go to a fake Twilio.
type smsEnv struct {
	*emailEnv
	tw *twiliotest.Server
}

// newSMSEnv starts a server sending SMS through a new fake Twilio.
func newSMSEnv(t *testing.T, db emailDB, opts ...emailOpt) *smsEnv {
	t.Helper()
	e := newEmailEnv(t, db.URL(t), append([]emailOpt{gatehousetest.WithTwilio()}, opts...)...)
	return &smsEnv{emailEnv: e, tw: e.Twilio}
}

var smsCodeRE = regexp.MustCompile(`^([0-9]{6}) is your Gatehouse code\. It expires in 5 minutes\.\n\n@auth\.example\.test #([0-9]{6})$`)

// sms waits until the fake has accepted n messages in all, and answers the
// code of the last one, which must have gone to number; the code becomes a
// secret the log must not show.
func (e *smsEnv) sms(t testing.TB, number string, n int) string {
	t.Helper()
	list := e.tw.Wait(t, n, mailWait)
	m := list[n-1]
	if m.To != number || m.From != twilioFrom || m.MessagingServiceSID != "" {
		t.Fatalf("SMS %d went to %q from %q (service %q), want %s from %s", n, m.To, m.From, m.MessagingServiceSID, number, twilioFrom)
	}
	sub := smsCodeRE.FindStringSubmatch(m.Body)
	if sub == nil || sub[1] != sub[2] {
		t.Fatalf("SMS body %q does not match %s", m.Body, smsCodeRE)
	}
	e.Logs.Secret(sub[1])
	return sub[1]
}

// grantPhone signs in with a code sent by SMS.
func (e *smsEnv) grantPhone(t testing.TB, number, code string) *emailResp {
	t.Helper()
	return e.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "otp", "phone": number, "code": code})
}

// smsProfile is GET /v1/user's answer.
type smsProfile struct {
	emailUser
	BackupCodesLeft int `json:"backup_codes_left"`
}

// wantField fails the test unless r is a 400 whose errors name field.
func wantField(t testing.TB, r *emailResp, field string) {
	t.Helper()
	r.WantProblem(http.StatusBadRequest, "invalid_request")
	var p struct {
		Errors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(p.Errors, func(e struct {
		Field   string `json:"field"`
		Message string `json:"message"`
	}) bool {
		return strings.TrimPrefix(e.Field, "body.") == field
	}) {
		t.Fatalf("%s: errors %s do not name %s", r.Req, r.Body, field)
	}
}

// TestSMSCodeSignIn: a code by SMS signs in; an unknown number gets an
// account whose phone is verified; the code works once; admins see the
// delivery with the number masked.
func TestSMSCodeSignIn(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		e := newSMSEnv(t, db)
		e.requestCode(t, map[string]any{"phone": "+1 (415) 555-2671"}).Accepted()
		code := e.sms(t, phoneUS, 1)

		tok := e.Tokens(e.grantPhone(t, "+1 415 555 2671", code))
		if u := tok.User; u.Phone != phoneUS || !u.PhoneVerified || u.Email != "" || u.EmailVerified || u.HasPassword {
			t.Errorf("new user: %+v", u)
		}
		if got := amr(t, tok.AccessToken); !slices.Equal(got, []string{"sms"}) {
			t.Errorf("amr %v, want [sms]", got)
		}
		var profile smsProfile
		e.Do(t, "GET", "/v1/user", nil, withBearer(tok.AccessToken)).Want(http.StatusOK).Strict(&profile)
		if profile.ID != tok.User.ID || profile.Phone != phoneUS || !profile.PhoneVerified {
			t.Errorf("profile: %+v", profile)
		}
		if r := e.check(t, withBearer(tok.AccessToken)).Want(http.StatusOK); r.Header.Get("X-Auth-User-Id") != tok.User.ID {
			t.Errorf("check: X-Auth-User-Id %q", r.Header.Get("X-Auth-User-Id"))
		}
		e.grantPhone(t, phoneUS, code).WantProblem(http.StatusUnauthorized, "invalid_code")

		// The next sign-in finds the same account.
		e.Clock.Advance(time.Minute + time.Second)
		e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted()
		again := e.Tokens(e.grantPhone(t, phoneUS, e.sms(t, phoneUS, 2)))
		if again.User.ID != tok.User.ID {
			t.Errorf("second sign-in made account %s, want %s", again.User.ID, tok.User.ID)
		}

		list := e.waitMessages(t, "sent", func(l []emailMessage) bool {
			return len(l) == 2 && l[0].Status == "sent" && l[1].Status == "sent"
		})
		for _, m := range list {
			if m.Channel != "sms" || m.Kind != "sms_code" || m.To != "********2671" || m.Attempts != 1 || m.LastError != "" {
				t.Errorf("delivery: %+v", m)
			}
		}
	})
}

// TestSMSSignUp: sign-up with a phone sends a code that proves it; the
// phone is then taken, and a password set at sign-up works with the phone.
func TestSMSSignUp(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		e := newSMSEnv(t, db)
		e.Logs.Secret(emailPassword)
		var out struct {
			User emailUser `json:"user"`
		}
		e.Do(t, "POST", "/v1/signup", map[string]string{"phone": "+44 7400 123456", "password": emailPassword, "name": "Ada"}).
			Want(http.StatusCreated).Strict(&out)
		if u := out.User; u.Phone != phoneGB || u.PhoneVerified || u.Email != "" || !u.HasPassword || u.Name != "Ada" {
			t.Errorf("signed up: %+v", u)
		}
		tok := e.Tokens(e.grantPhone(t, phoneGB, e.sms(t, phoneGB, 1)))
		if tok.User.ID != out.User.ID || !tok.User.PhoneVerified {
			t.Errorf("signed in as %+v, want %s verified", tok.User, out.User.ID)
		}

		e.Do(t, "POST", "/v1/signup", map[string]string{"phone": phoneGB}).WantProblem(http.StatusConflict, "phone_taken")
		e.Do(t, "POST", "/v1/signup", map[string]string{"email": "new@example.com", "phone": phoneGB}).
			WantProblem(http.StatusConflict, "phone_taken")
		if n := len(e.users(t, "new@example.com")); n != 0 {
			t.Errorf("a refused sign-up left %d accounts", n)
		}

		pw := e.Tokens(e.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "phone": phoneGB, "password": emailPassword}))
		if pw.User.ID != out.User.ID || !slices.Equal(amr(t, pw.AccessToken), []string{"pwd"}) {
			t.Errorf("password sign-in by phone: %+v", pw.User)
		}
		e.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "phone": phoneUS, "password": emailPassword}).
			WantProblem(http.StatusUnauthorized, "invalid_credentials")

		// Email and phone together: both are stored, the phone gets a code.
		e.Do(t, "POST", "/v1/signup", map[string]string{"email": "both@example.com", "phone": phoneCA}).
			Want(http.StatusCreated).Strict(&out)
		if out.User.Email != "both@example.com" || out.User.Phone != phoneCA {
			t.Errorf("email and phone: %+v", out.User)
		}
		e.sms(t, phoneCA, 2)
	})
}

// TestSMSBadInput: numbers that are not valid in international form, and
// requests that mix up the channels, are 400 with the field named, and
// nothing is sent.
func TestSMSBadInput(t *testing.T) {
	t.Parallel()
	e := newSMSEnv(t, emailSQLite)
	bad := []string{
		"4155552671",        // national form
		"+1 555 0100",       // too short
		"+999 123456789",    // no such country
		"+1-800-FLOWERS",    // letters
		"+1 415 555 2671 x", // extension
		"tel:+14155552671",  // a URI
		"+44 7400 12345678", // too long for GB
		strings.Repeat("+1", 40),
	}
	for _, p := range bad {
		wantField(t, e.requestCode(t, map[string]any{"phone": p}), "phone")
		wantField(t, e.Do(t, "POST", "/v1/signup", map[string]string{"phone": p}), "phone")
		wantField(t, e.grantPhone(t, p, "123456"), "phone")
	}
	wantField(t, e.requestCode(t, map[string]any{"phone": phoneUS, "email": "a@example.com"}), "phone")
	wantField(t, e.requestCode(t, map[string]any{"phone": phoneUS, "type": "link"}), "type")
	wantField(t, e.grantPhone(t, phoneUS, "12345"), "code")
	wantField(t, e.Do(t, "POST", "/v1/signup", map[string]string{}), "email")
	if n := e.tw.Requests(); n != 0 {
		t.Errorf("%d requests reached Twilio", n)
	}
}

// TestSMSAllowedCountries: with an allow-list, a number from elsewhere is
// refused wherever a code would go to it.
func TestSMSAllowedCountries(t *testing.T) {
	t.Parallel()
	e := newSMSEnv(t, emailSQLite, withEmailConfig(func(c *gatehouse.Config) { c.SMSAllowedCountries = []string{"US", "CA"} }))
	wantField(t, e.requestCode(t, map[string]any{"phone": phoneGB}), "phone")
	wantField(t, e.Do(t, "POST", "/v1/signup", map[string]string{"phone": phoneGB}), "phone")
	u := e.SignUp(t, "ca@example.com", emailPassword)
	tok := e.Tokens(e.PasswordGrant(t, u.Email, emailPassword))
	wantField(t, e.Do(t, "POST", "/v1/user/phone", map[string]string{"phone": phoneGB}, withBearer(tok.AccessToken)), "phone")
	if n := e.tw.Requests(); n != 0 {
		t.Fatalf("%d requests reached Twilio for a refused country", n)
	}
	e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted()
	e.sms(t, phoneUS, 1)
	e.requestCode(t, map[string]any{"phone": phoneCA}).Accepted()
	e.sms(t, phoneCA, 2)
}

// TestSMSLimits: one code a minute per number, and an hourly cap per
// country calling code that other countries do not share.
func TestSMSLimits(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		e := newSMSEnv(t, db, withEmailConfig(func(c *gatehouse.Config) { c.SMSCountryHourlyLimit = 3 }))
		e.requestCode(t, map[string]any{"phone": phoneGB}).Accepted()
		r := e.requestCode(t, map[string]any{"phone": phoneGB})
		r.WantProblem(http.StatusTooManyRequests, "rate_limited")
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
			t.Errorf("per-number Retry-After %q", r.Header.Get("Retry-After"))
		}
		for i := 1; i <= 2; i++ {
			e.requestCode(t, map[string]any{"phone": fmt.Sprintf("+44740012345%d", 6+i)}).Accepted()
		}
		r = e.requestCode(t, map[string]any{"phone": "+447400123459"})
		r.WantProblem(http.StatusTooManyRequests, "rate_limited")
		if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 60 || s > 3600 {
			t.Errorf("per-country Retry-After %q", r.Header.Get("Retry-After"))
		}
		e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted() // +1 has its own cap
		e.tw.Wait(t, 4, mailWait)

		e.Clock.Advance(time.Hour + time.Second)
		e.requestCode(t, map[string]any{"phone": "+447400123459"}).Accepted()
		e.tw.Wait(t, 5, mailWait)
	})
}

// TestSMSRetry: Twilio's 503 and 429 are retried with backoff until the
// message goes out; a 400 fails the message at once, with Twilio's code
// and message recorded for admins and the number masked.
func TestSMSRetry(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		e := newSMSEnv(t, db)
		e.tw.FailNext(1, http.StatusServiceUnavailable, 20503, "Service temporarily unavailable")
		e.tw.FailNext(1, http.StatusTooManyRequests, 20429, "Too Many Requests")
		e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted()
		for attempt, status := range []string{"503", "429"} {
			list := e.waitMessages(t, "failed once more", func(l []emailMessage) bool {
				return len(l) == 1 && l[0].Attempts == attempt+1
			})
			if m := list[0]; m.Status != "pending" || !strings.Contains(m.LastError, status) || m.NextAttemptAt == nil {
				t.Fatalf("after attempt %d: %+v", attempt+1, m)
			}
			e.Clock.Advance(notify.DefaultBackoff<<attempt + time.Second)
		}
		code := e.sms(t, phoneUS, 1)
		list := e.waitMessages(t, "sent", func(l []emailMessage) bool { return len(l) == 1 && l[0].Status == "sent" })
		if m := list[0]; m.Attempts != 3 || m.SentAt == nil { // Attempts counts every try, the one that sent it too
			t.Errorf("sent after retries: %+v", m)
		}
		e.Tokens(e.grantPhone(t, phoneUS, code))

		// A 400 is final.
		e.tw.FailNext(1, http.StatusBadRequest, 21211, "The 'To' number "+phoneUS2+" is not a valid phone number.")
		e.requestCode(t, map[string]any{"phone": phoneUS2}).Accepted()
		failed := e.waitMessages(t, "failed", func(l []emailMessage) bool { return len(l) == 2 && l[0].Status == "failed" })[0]
		if failed.Attempts != 1 || !strings.Contains(failed.LastError, "21211") || !strings.Contains(failed.LastError, "not a valid phone number") ||
			strings.Contains(failed.LastError, phoneUS2) || strings.Contains(failed.LastError, phoneUS2[1:]) || failed.NextAttemptAt != nil {
			t.Errorf("failed delivery: %+v", failed)
		}
		requests := e.tw.Requests()
		e.Clock.Advance(time.Hour)
		time.Sleep(2 * notify.DefaultPoll) // the worker polls on real time; give it two chances to retry wrongly
		if n := e.tw.Requests(); n != requests {
			t.Errorf("a 400 was retried: %d requests, want %d", n, requests)
		}
	})
}

// TestSMSMessagingService: a Twilio URL naming a messaging service sends
// MessagingServiceSid and no From.
func TestSMSMessagingService(t *testing.T) {
	t.Parallel()
	const service = "MG0123456789abcdef0123456789abcdef"
	e := newSMSEnv(t, emailSQLite, withEmailConfig(func(c *gatehouse.Config) {
		c.SMSURL = "twilio://" + twilioSID + ":" + twilioToken + "@?messaging_service_sid=" + service
	}))
	e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted()
	m := e.tw.Wait(t, 1, mailWait)[0]
	if m.To != phoneUS || m.From != "" || m.MessagingServiceSID != service {
		t.Errorf("message: %+v", m)
	}
}

// TestSMSWrongCodes: the code rules of email hold for SMS: five wrong
// codes kill the code, and a new request replaces an old code.
func TestSMSWrongCodes(t *testing.T) {
	t.Parallel()
	e := newSMSEnv(t, emailSQLite)
	e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted()
	first := e.sms(t, phoneUS, 1)
	e.Clock.Advance(time.Minute + time.Second)
	e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted()
	code := e.sms(t, phoneUS, 2)
	if first != code {
		e.grantPhone(t, phoneUS, first).WantProblem(http.StatusUnauthorized, "invalid_code")
	}
	wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1000000)
	for range 3 {
		e.grantPhone(t, phoneUS, wrong).WantProblem(http.StatusUnauthorized, "invalid_code")
	}
	e.grantPhone(t, phoneUS, wrong).WantProblem(http.StatusTooManyRequests, "too_many_attempts")
	e.grantPhone(t, phoneUS, code).WantProblem(http.StatusTooManyRequests, "too_many_attempts")
}

func mustAtoi(t testing.TB, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSMSEnumeration: known and unknown numbers get the same answer; with
// sign-up by code off, an unknown number gets no message.
func TestSMSEnumeration(t *testing.T) {
	t.Parallel()
	e := newSMSEnv(t, emailSQLite, withEmailConfig(func(c *gatehouse.Config) { c.PasswordlessSignup = false }))
	e.Do(t, "POST", "/v1/admin/users", map[string]any{"phone": phoneUS, "phone_verified": true}, gatehousetest.Admin()).Want(http.StatusCreated)
	known := e.requestCode(t, map[string]any{"phone": phoneUS})
	unknown := e.requestCode(t, map[string]any{"phone": phoneUS2})
	sameAnswer(t, "/v1/otp known vs unknown phone", known, unknown)
	e.sms(t, phoneUS, 1)
	list := e.waitMessages(t, "one sent, one suppressed", func(l []emailMessage) bool {
		return len(l) == 2 && l[0].Status == "suppressed" && l[1].Status == "sent"
	})
	if list[0].Channel != "sms" {
		t.Errorf("suppressed message: %+v", list[0])
	}
	time.Sleep(2 * notify.DefaultPoll)
	if n := e.tw.Requests(); n != 1 {
		t.Errorf("%d requests reached Twilio, want 1", n)
	}
}

// TestSMSPhoneChange: a signed-in user adds a phone with a code; a number
// another account verified is refused, one it only claimed is taken over.
func TestSMSPhoneChange(t *testing.T) {
	t.Parallel()
	eachEmailDB(t, func(t *testing.T, db emailDB) {
		e := newSMSEnv(t, db)
		ann := e.SignUp(t, "ann@example.com", emailPassword)
		annTok := e.Tokens(e.PasswordGrant(t, ann.Email, emailPassword))
		asAnn := withBearer(annTok.AccessToken)

		e.Do(t, "POST", "/v1/user/phone", map[string]string{"phone": "+1 415 555 2671"}, asAnn).Accepted()
		code := e.sms(t, phoneUS, 1)
		wrong := fmt.Sprintf("%06d", (mustAtoi(t, code)+1)%1000000)
		e.Do(t, "POST", "/v1/user/phone/verify", map[string]string{"code": wrong}, asAnn).WantProblem(http.StatusUnauthorized, "invalid_code")
		var profile smsProfile
		e.Do(t, "POST", "/v1/user/phone/verify", map[string]string{"code": code}, asAnn).Want(http.StatusOK).Strict(&profile)
		if profile.Phone != phoneUS || !profile.PhoneVerified || profile.Email != ann.Email {
			t.Errorf("after verify: %+v", profile)
		}
		e.Do(t, "POST", "/v1/user/phone/verify", map[string]string{"code": code}, asAnn).WantProblem(http.StatusUnauthorized, "invalid_code")

		// The phone now signs Ann in.
		e.Clock.Advance(time.Minute + time.Second)
		e.requestCode(t, map[string]any{"phone": phoneUS}).Accepted()
		if tok := e.Tokens(e.grantPhone(t, phoneUS, e.sms(t, phoneUS, 2))); tok.User.ID != ann.ID {
			t.Errorf("phone signed in %s, want %s", tok.User.ID, ann.ID)
		}

		// Bob cannot take Ann's verified number.
		bob := e.SignUp(t, "bob@example.com", emailPassword)
		bobTok := e.Tokens(e.PasswordGrant(t, bob.Email, emailPassword))
		asBob := withBearer(bobTok.AccessToken)
		e.Do(t, "POST", "/v1/user/phone", map[string]string{"phone": phoneUS}, asBob).WantProblem(http.StatusConflict, "phone_taken")

		// Carl claims a number at sign-up and never proves it; Bob proves
		// it and takes it over.
		var carl struct {
			User emailUser `json:"user"`
		}
		e.Do(t, "POST", "/v1/signup", map[string]string{"email": "carl@example.com", "phone": phoneCA}).Want(http.StatusCreated).Strict(&carl)
		e.sms(t, phoneCA, 3)
		e.Clock.Advance(time.Minute + time.Second)
		e.Do(t, "POST", "/v1/user/phone", map[string]string{"phone": phoneCA}, asBob).Accepted()
		e.Do(t, "POST", "/v1/user/phone/verify", map[string]string{"code": e.sms(t, phoneCA, 4)}, asBob).Want(http.StatusOK).Strict(&profile)
		if profile.ID != bob.ID || profile.Phone != phoneCA || !profile.PhoneVerified {
			t.Errorf("Bob after taking the number over: %+v", profile)
		}
		var got struct {
			Phone *string `json:"phone"`
		}
		r := e.Do(t, "GET", "/v1/admin/users/"+carl.User.ID, nil, gatehousetest.Admin()).Want(http.StatusOK)
		if err := json.Unmarshal(r.Body, &got); err != nil || got.Phone == nil || *got.Phone != "" {
			t.Errorf("Carl after losing the number: %s", r.Body)
		}
	})
}

// TestSMSNotConfigured: without GATEHOUSE_SMS_URL (outside dev mode) every
// SMS flow answers 503, and email keeps working.
func TestSMSNotConfigured(t *testing.T) {
	t.Parallel()
	e := newEmailEnv(t, emailSQLite.URL(t))
	e.requestCode(t, map[string]any{"phone": phoneUS}).WantProblem(http.StatusServiceUnavailable, "unavailable")
	e.Do(t, "POST", "/v1/signup", map[string]string{"phone": phoneUS}).WantProblem(http.StatusServiceUnavailable, "unavailable")
	u := e.SignUp(t, "dee@example.com", emailPassword)
	tok := e.Tokens(e.PasswordGrant(t, u.Email, emailPassword))
	e.Do(t, "POST", "/v1/user/phone", map[string]string{"phone": phoneUS}, withBearer(tok.AccessToken)).
		WantProblem(http.StatusServiceUnavailable, "unavailable")
	e.requestCode(t, map[string]any{"email": u.Email}).Accepted()
	e.mail(t, u.Email, 1)
}
