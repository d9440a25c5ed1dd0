package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// The sessions card of the account page: every live session of the
// account, with its device and when it was last seen, and the forms that
// sign one or all of the others out.

// sessionsCard is the list of live sessions.
type sessionsCard struct {
	card
	List []sessionRow
	// Others is set when another session than this one is live.
	Others bool
}

// sessionRow is one session as the list shows it.
type sessionRow struct {
	ID, Device, IP     string
	Created, LastSeen  moment
	Current, TwoFactor bool
}

// moment is a time as the page shows it: relative to now, with the exact
// time in the tooltip and the machine-readable form.
type moment struct {
	Text, ISO, Full string
}

// accountRevoke signs one session of the account out; this very session
// also loses its cookie and goes to the sign-in page.
func (s *Server) accountRevoke(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id := r.PathValue("id")
	if err := s.auth.RevokeSession(r.Context(), p, id); err != nil {
		s.accountFail(w, r, p, cardSessions, err, "", nil)
		return
	}
	if id == p.Session.ID { // this very session: nothing left to show here
		http.SetCookie(w, s.o.Cookies.Clear())
		s.redirect(w, r, s.path("/login"))
		return
	}
	s.accountDone(w, r, p, "session")
}

// accountRevokeOthers signs out every session of the account but this one.
func (s *Server) accountRevokeOthers(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	if err := s.auth.Logout(r.Context(), p, auth.ScopeOthers); err != nil {
		s.accountFail(w, r, p, cardSessions, err, "", nil)
		return
	}
	s.accountDone(w, r, p, "others")
}

// when shows t relative to now: recent times as "5 minutes ago", older
// ones as a date.
func when(t, now time.Time) moment {
	t = t.UTC()
	m := moment{ISO: t.Format(time.RFC3339), Full: t.Format("2 January 2006, 15:04 UTC")}
	switch d := now.Sub(t); {
	case d < time.Minute:
		m.Text = "just now"
	case d < time.Hour:
		m.Text = plural(int(d/time.Minute), "minute") + " ago"
	case d < 24*time.Hour:
		m.Text = plural(int(d/time.Hour), "hour") + " ago"
	case d < 7*24*time.Hour:
		m.Text = plural(int(d/(24*time.Hour)), "day") + " ago"
	default:
		m.Text = t.Format("2 January 2006")
	}
	return m
}

// plural returns n and unit as in "1 minute" or "5 minutes".
func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}
