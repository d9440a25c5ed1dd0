// Command otpload measures email sign-in against a running server end to
// end: POST /v1/otp throughput, how fast the server's outbox worker
// delivers the messages to a local SMTP server, and grant otp throughput
// with the codes from those messages. It is the SMTP server: start the
// server under test with GATEHOUSE_MAIL_URL=smtp://127.0.0.1:2525?tls=none
// and give otpload the same address.
//
//	otpload -base http://127.0.0.1:3000 -smtp 127.0.0.1:2525 -c 16 -d 10s
//	otpload -base http://127.0.0.1:3000 -smtp 127.0.0.1:2525 -cookie
//
// The first form runs three phases and prints one line for each:
//
//  1. POST /v1/otp: -c clients for -d (at most -n requests), each request
//     for an address no other request uses, so per-address send limits
//     never answer.
//  2. delivery: waits (at most -wait) until every accepted request's
//     message has arrived and reports messages per second from the first
//     to the last.
//  3. grant otp: -c clients exchange the codes from those messages at
//     POST /v1/token for at most -d, or until the codes run out.
//
// The second form signs one address in through a magic link the way a
// browser does (GET the emailed link, POST /v1/verify) and prints the
// session cookie as name=value for a Cookie header.
//
// It talks only to loopback addresses and stops by itself.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/internal/notify/smtptest"
)

func main() {
	base := flag.String("base", "http://127.0.0.1:3000", "base URL of the server under test (loopback only)")
	smtpAddr := flag.String("smtp", "127.0.0.1:2525", "where to listen for the server's mail (loopback only; the server's GATEHOUSE_MAIL_URL must point here)")
	conns := flag.Int("c", 16, "concurrent clients")
	dur := flag.Duration("d", 10*time.Second, "duration of each load phase")
	maxReq := flag.Int("n", 200000, "at most this many POST /v1/otp requests")
	wait := flag.Duration("wait", 3*time.Minute, "at most this long to wait for the messages after the last request (codes expire after GATEHOUSE_OTP_TTL, 5m by default)")
	cookie := flag.Bool("cookie", false, "sign one address in by magic link and print its session cookie as name=value")
	prefix := flag.String("prefix", "", "addresses are PREFIX<n>@example.com (default bench-<run>-, unique per run)")
	flag.Parse()
	if flag.NArg() > 0 || *conns < 1 || *dur <= 0 || *maxReq < 1 || *wait <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*base, *smtpAddr, *conns, *dur, *maxReq, *wait, *cookie, *prefix); err != nil {
		fmt.Fprintln(os.Stderr, "otpload:", err)
		os.Exit(1)
	}
}

func run(base, smtpAddr string, conns int, dur time.Duration, maxReq int, wait time.Duration, cookie bool, prefix string) error {
	base = strings.TrimSuffix(base, "/")
	u, err := url.Parse(base)
	if err != nil || u.Scheme != "http" || !loopback(u.Host) {
		return fmt.Errorf("-base %q: want http:// on a loopback address such as http://127.0.0.1:3000", base)
	}
	if !loopback(smtpAddr) {
		return fmt.Errorf("-smtp %q: want a loopback address such as 127.0.0.1:2525", smtpAddr)
	}
	if prefix == "" {
		prefix = "bench-" + strconv.FormatInt(time.Now().UnixNano()%(1<<40), 36) + "-"
	}
	sink, err := listen(smtpAddr)
	if err != nil {
		return err
	}
	defer sink.close()
	client := &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	if cookie {
		c, err := signInByLink(client, base, sink, prefix+"cookie@example.com")
		if err != nil {
			return err
		}
		fmt.Println(c)
		return nil
	}
	return load(client, base, sink, conns, dur, maxReq, wait, prefix)
}

// loopback returns whether hostport names a loopback IP (or localhost).
func loopback(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// --- the SMTP sink ---

// received is what the sink keeps of one message.
type received struct {
	at     time.Time
	to     string
	code   string // from the subject "NNNNNN is your … code"
	link   string // the first /v1/verify link in the text
	broken bool   // could not be parsed
}

// sink is a plain SMTP server (no TLS, no AUTH, like a local relay) that
// accepts every message and keeps its recipient, code and link.
type sink struct {
	addr string
	srv  *smtp.Server
	done chan struct{}
	mu   sync.Mutex
	msgs []received
	got  chan struct{}
	// conns counts the connections the server under test opened: fewer
	// than messages when its sender keeps them open between messages.
	conns atomic.Int64
}

func listen(addr string) (*sink, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("SMTP sink: %w", err)
	}
	s := &sink{addr: addr, done: make(chan struct{}), got: make(chan struct{}, 1)}
	s.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { s.conns.Add(1); return &session{s: s}, nil }))
	s.srv.Domain = "localhost"
	s.srv.ReadTimeout = 30 * time.Second
	s.srv.WriteTimeout = 30 * time.Second
	s.srv.MaxMessageBytes = 1 << 20
	s.srv.ErrorLog = discard{}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(l)
	}()
	return s, nil
}

func (s *sink) close() {
	_ = s.srv.Close()
	<-s.done
}

// snapshot returns a copy of the messages so far.
func (s *sink) snapshot() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

// waitFor waits until ok holds for the messages received, or until the
// deadline, and returns the messages either way.
func (s *sink) waitFor(deadline time.Time, ok func([]received) bool) []received {
	t := time.NewTimer(time.Until(deadline))
	defer t.Stop()
	for {
		m := s.snapshot()
		if ok(m) {
			return m
		}
		select {
		case <-s.got:
		case <-t.C:
			return s.snapshot()
		}
	}
}

type discard struct{}

func (discard) Printf(string, ...any) {}
func (discard) Println(...any)        {}

type session struct {
	s  *sink
	to []string
}

func (ss *session) Mail(string, *smtp.MailOptions) error { return nil }

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

var (
	subjectCode = regexp.MustCompile(`^(\d{4,12}) is your .* code$`)
	verifyLink  = regexp.MustCompile(`https?://\S+/v1/verify\?token=\S+`)
)

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	at := time.Now()
	m := received{at: at}
	if len(ss.to) > 0 {
		m.to = strings.ToLower(ss.to[0])
	}
	if p, err := (smtptest.Message{Data: b}).Parse(); err != nil {
		m.broken = true
	} else {
		if sm := subjectCode.FindStringSubmatch(strings.TrimSpace(p.Subject)); sm != nil {
			m.code = sm[1]
		}
		m.link = verifyLink.FindString(p.Text)
	}
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, m)
	ss.s.mu.Unlock()
	select {
	case ss.s.got <- struct{}{}:
	default:
	}
	return nil
}

func (ss *session) Reset() { ss.to = nil }

func (ss *session) Logout() error { return nil }

// --- the session cookie through a magic link ---

func signInByLink(client *http.Client, base string, sink *sink, email string) (string, error) {
	status, err := postJSON(client, base+"/v1/otp", map[string]string{"email": email, "type": "link"})
	if err != nil {
		return "", err
	}
	if status != http.StatusAccepted {
		return "", fmt.Errorf("POST /v1/otp type link: status %d, want 202", status)
	}
	msgs := sink.waitFor(time.Now().Add(30*time.Second), func(m []received) bool { return find(m, email) != nil })
	m := find(msgs, email)
	if m == nil {
		return "", fmt.Errorf("no message for %s within 30s: is the server's GATEHOUSE_MAIL_URL smtp://%s?tls=none?", email, sink.addr)
	}
	if m.link == "" {
		return "", fmt.Errorf("the message to %s carries no /v1/verify link", email)
	}
	link, err := url.Parse(m.link)
	if err != nil {
		return "", fmt.Errorf("link %q: %w", m.link, err)
	}
	token := link.Query().Get("token")
	// Like a browser: open the page (it consumes nothing), press its button.
	resp, err := client.Get(base + "/v1/verify?" + url.Values{"token": {token}}.Encode())
	if err != nil {
		return "", err
	}
	drain(resp)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET /v1/verify: status %d, want 200", resp.StatusCode)
	}
	req, err := http.NewRequest(http.MethodPost, base+"/v1/verify", strings.NewReader(url.Values{"token": {token}}.Encode()))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err = client.Do(req)
	if err != nil {
		return "", err
	}
	drain(resp)
	if resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("POST /v1/verify: status %d, want 303", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("POST /v1/verify set no cookie")
}

func find(msgs []received, to string) *received {
	for i := range msgs {
		if msgs[i].to == to {
			return &msgs[i]
		}
	}
	return nil
}

// --- the load phases ---

// tally is one phase's outcome.
type tally struct {
	ok, other int
	errs      int // transport errors (counted in other)
	firstErr  string
	lat       []time.Duration
	elapsed   time.Duration
}

func (t tally) line(name string) string {
	slices.Sort(t.lat)
	n := t.ok + t.other
	s := fmt.Sprintf("%s: %.1f req/s, p50 %s, p99 %s, %d ok, %d other", name,
		float64(n)/t.elapsed.Seconds(), ms(pct(t.lat, 50)), ms(pct(t.lat, 99)), t.ok, t.other)
	if t.errs > 0 {
		s += fmt.Sprintf(" (%d failed: %s)", t.errs, t.firstErr)
	}
	return s
}

func pct(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[(len(sorted)-1)*p/100]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

// hammer runs conns clients for at most dur; each calls next until it
// returns false, and do with the index it got. want is the status that
// counts as ok.
func hammer(conns int, dur time.Duration, want int, next func() (int, bool), do func(int) (int, error)) tally {
	ctx, cancel := context.WithTimeout(context.Background(), dur)
	defer cancel()
	parts := make([]tally, conns)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range parts {
		wg.Go(func() {
			t := &parts[w]
			for ctx.Err() == nil {
				i, more := next()
				if !more {
					return
				}
				t0 := time.Now()
				status, err := do(i)
				t.lat = append(t.lat, time.Since(t0))
				switch {
				case err != nil:
					t.other++
					t.errs++
					if t.firstErr == "" {
						t.firstErr = err.Error()
					}
				case status == want:
					t.ok++
				default:
					t.other++
					if t.firstErr == "" && t.errs == 0 {
						t.firstErr = "status " + strconv.Itoa(status)
					}
				}
			}
		})
	}
	wg.Wait()
	var all tally
	all.elapsed = time.Since(start)
	for _, t := range parts {
		all.ok += t.ok
		all.other += t.other
		all.errs += t.errs
		if all.firstErr == "" {
			all.firstErr = t.firstErr
		}
		all.lat = append(all.lat, t.lat...)
	}
	return all
}

func load(client *http.Client, base string, sink *sink, conns int, dur time.Duration, maxReq int, wait time.Duration, prefix string) error {
	addr := func(n int) string { return prefix + strconv.Itoa(n) + "@example.com" }

	// Phase 1: codes for distinct addresses.
	var counter atomic.Int64
	var accepted sync.Map // address → struct{}; only 202s get mail
	otp := hammer(conns, dur, http.StatusAccepted,
		func() (int, bool) { n := int(counter.Add(1)); return n, n <= maxReq },
		func(n int) (int, error) {
			status, err := postJSON(client, base+"/v1/otp", map[string]string{"email": addr(n)})
			if status == http.StatusAccepted {
				accepted.Store(addr(n), struct{}{})
			}
			return status, err
		})
	end := time.Now()
	fmt.Println(otp.line("POST /v1/otp"))
	if otp.ok == 0 {
		return errors.New("no request was accepted")
	}

	// Phase 2: every accepted request's message arrives.
	ours := func(m received) bool { _, ok := accepted.Load(m.to); return ok }
	count := func(msgs []received) int {
		n := 0
		for _, m := range msgs {
			if ours(m) {
				n++
			}
		}
		return n
	}
	msgs := sink.waitFor(end.Add(wait), func(m []received) bool { return count(m) >= otp.ok })
	var codes []received // in arrival order: the oldest codes are used first
	var first, last time.Time
	seen := make(map[string]bool)
	broken, dup, after := 0, 0, 0
	for _, m := range msgs {
		if !ours(m) {
			continue
		}
		if first.IsZero() {
			first = m.at
		}
		last = m.at
		if m.at.After(end) {
			after++
		}
		switch {
		case m.broken || m.code == "":
			broken++
		case seen[m.to]:
			dup++
		default:
			seen[m.to] = true
			codes = append(codes, m)
		}
	}
	n := count(msgs)
	line := fmt.Sprintf("delivery: %s msg/s (%d messages", rate(n, last.Sub(first)), n)
	if after > 0 {
		// The backlog left when the requests stopped drains with the
		// server otherwise idle: the worker's own pace.
		line += fmt.Sprintf("; %d after the last request at %.1f msg/s, the last %.1fs after it",
			after, float64(after)/last.Sub(end).Seconds(), last.Sub(end).Seconds())
	}
	if n < otp.ok {
		line += fmt.Sprintf("; %d missing after %s", otp.ok-n, wait)
	}
	if broken > 0 || dup > 0 {
		line += fmt.Sprintf("; %d without a code, %d duplicates", broken, dup)
	}
	fmt.Println(line + ")")
	// Delivery against acceptance (issue 18): the rate of mail while the
	// requests came in, and how long the backlog took to drain after.
	burst := otp.elapsed.Seconds()
	during := n - after
	drain := "0.0s"
	if after > 0 {
		drain = fmt.Sprintf("%.1fs", last.Sub(end).Seconds())
	}
	fmt.Printf("delivery vs acceptance: accepted %.1f/s, delivered %.1f/s during the %.1fs burst (%d of %d), drained %s after the last request; %d SMTP connections\n",
		float64(otp.ok)/burst, float64(during)/burst, burst, during, otp.ok, drain, sink.conns.Load())
	if len(codes) == 0 {
		return errors.New("no codes arrived")
	}

	// Phase 3: sign in with each code once.
	var idx atomic.Int64
	grant := hammer(conns, dur, http.StatusOK,
		func() (int, bool) { i := int(idx.Add(1)) - 1; return i, i < len(codes) },
		func(i int) (int, error) {
			return postJSON(client, base+"/v1/token", map[string]string{"grant_type": "otp", "email": codes[i].to, "code": codes[i].code})
		})
	line = grant.line("grant otp")
	if used := grant.ok + grant.other; used == len(codes) {
		line += " (all codes used)"
	}
	fmt.Println(line)
	return nil
}

// rate returns n events over span as events per second, counting the
// intervals between the first and the last.
func rate(n int, span time.Duration) string {
	if n < 2 || span <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f", float64(n-1)/span.Seconds())
}

func postJSON(client *http.Client, u string, body any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	resp, err := client.Post(u, "application/json", bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	drain(resp)
	return resp.StatusCode, nil
}

// drain reads the body to its end so the connection is reused.
func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}
