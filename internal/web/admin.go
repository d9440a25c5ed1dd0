package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/httpauth"
	"github.com/gatehouse/gatehouse/internal/useragent"
)

// The admin page: users (search, paging, one user's facts, sessions and
// second factors, and the actions an admin takes on them) and recent
// deliveries. Every request, GET or POST, re-checks auth.AdminAccess: the
// role as stored now, and a second-factor session for an admin who has a
// second factor on.

// adminPageSize is how many users one page of the list shows.
const adminPageSize = 50

// adminDeliveries is how many recent deliveries the page shows.
const adminDeliveries = 20

// adminAuditEvents is how many of a user's latest audit events their page
// shows.
const adminAuditEvents = 30

// adminStatuses are the delivery statuses the admin may filter by, in the
// select's order, with their names for people; "" is every status.
var adminStatuses = []adminOption{
	{"", "Any status"}, {auth.MessagePending, "Pending"}, {auth.MessageSent, "Sent"},
	{auth.MessageFailed, "Failed"}, {auth.MessageSuppressed, "Suppressed"},
}

// adminOption is one choice of a select.
type adminOption struct{ Value, Label string }

// errAdminStatus refuses a status filter that is not one of adminStatuses
// (the select sends only those: this is a hand-made address).
var errAdminStatus = &auth.Error{Kind: auth.KindInvalidRequest, Message: "That delivery status is not one of the list: choose one from it."}

// registerAdmin registers /admin. Without Options.Admin the page is off
// (its addresses are 404s).
func (s *Server) registerAdmin() {
	if s.o.Admin == nil {
		return
	}
	s.mux.HandleFunc("GET /admin", s.adminOnly(s.adminHome))
	s.mux.HandleFunc("GET /admin/users/{id}", s.adminOnly(s.adminUserPage))
	for action, do := range adminActions {
		s.mux.HandleFunc("POST /admin/users/{id}/"+action, s.adminOnly(s.adminAction(action, do)))
	}
}

// isAdmin reports whether p may use the admin page, for the header's link
// (the page itself checks more: see auth.AdminAccess).
func isAdmin(p *auth.Principal) bool { return p != nil && p.User.Admin }

// adminOnly wraps a handler of the admin page: signed-out visitors go to
// /login, signed-in ones who may not act as admins get 403 and the reason.
func (s *Server) adminOnly(next func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return s.signedIn(func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		err := s.auth.AdminAccess(r.Context(), p)
		switch kind := auth.KindOf(err); {
		case err == nil:
			next(w, r, p)
		case errors.Is(err, auth.ErrNeedsAAL2) && r.Method == http.MethodGet:
			// The step-up page adds the second factor to this session
			// and comes back.
			s.redirect(w, r, s.path("/step-up?redirect_to="+url.QueryEscape(s.path(r.URL.RequestURI()))))
		case kind == auth.KindForbidden:
			msg, _ := s.explain(r, err)
			s.render(w, r, http.StatusForbidden, "error", errorView{Title: "Admin pages", Message: msg})
		case kind == auth.KindUnauthorized || kind == auth.KindTokenRevoked:
			s.redirect(w, r, s.path("/login"))
		default:
			s.fail(w, r, err)
		}
	})
}

// adminUserRow is a user in the list.
type adminUserRow struct {
	ID, Email, Phone             string
	EmailVerified, PhoneVerified bool
	Disabled, Admin              bool
	Created                      adminTime
}

// adminRow returns u as a row of the user list.
func adminRow(u *auth.User) adminUserRow {
	return adminUserRow{
		ID: u.ID, Email: u.Email, Phone: u.Phone, EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneVerified,
		Disabled: u.Disabled(), Admin: u.Admin, Created: adminTimeOf(u.CreatedAt),
	}
}

// adminTime is a moment as the page shows it: a readable UTC text, its
// day, and the machine-readable value for <time datetime>.
type adminTime struct {
	Text, Date, ISO string
}

// adminTimeOf returns t as the admin page shows it.
func adminTimeOf(t time.Time) adminTime {
	if t.IsZero() {
		return adminTime{}
	}
	t = t.UTC()
	return adminTime{Text: t.Format("2006-01-02 15:04 UTC"), Date: t.Format("2006-01-02"), ISO: t.Format(time.RFC3339)}
}

// adminDelivery is a delivery as the page shows it: never its content,
// and its recipient masked.
type adminDelivery struct {
	Kind, Channel, To, Status string
	Attempts                  int
	LastError                 string
	Created                   adminTime
}

// adminHomeView is the data of admin.html.
type adminHomeView struct {
	Query string
	flash // Fields holds the search field's error
	Users []adminUserRow
	// Next is the address of the next page, "" on the last; Paged is set
	// on every page after the first.
	Next  string
	Paged bool
	// Deliveries are the most recent deliveries; DeliveriesError says why
	// they could not be read.
	Deliveries      []adminDelivery
	DeliveriesError string
	// Status filters the deliveries ("" for any); Statuses are the
	// select's choices.
	Status   string
	Statuses []adminOption
}

// adminHome shows the user list (searched and paged) and the recent
// deliveries.
func (s *Server) adminHome(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	q := r.URL.Query()
	v := adminHomeView{
		Query: strings.TrimSpace(q.Get("query")), Paged: q.Get("cursor") != "",
		Status: q.Get("status"), Statuses: adminStatuses,
	}
	status := http.StatusOK
	users, next, err := s.auth.AdminUsers(r.Context(), auth.UserQuery{Query: v.Query, After: q.Get("cursor"), Limit: adminPageSize})
	if err != nil {
		v.Error, v.Fields = s.explain(r, err)
		if f := v.Fields["cursor"]; f != "" {
			v.Error = "That page address is not valid. Start again from the first page."
		}
		status = httpauth.Status(auth.KindOf(err))
	}
	for i := range users {
		v.Users = append(v.Users, adminRow(&users[i]))
	}
	if next != "" {
		nq := url.Values{"cursor": {next}}
		if v.Query != "" {
			nq.Set("query", v.Query)
		}
		if v.Status != "" {
			nq.Set("status", v.Status)
		}
		v.Next = s.path("/admin?") + nq.Encode()
	}
	var msgs []auth.Message
	if !slices.ContainsFunc(adminStatuses, func(o adminOption) bool { return o.Value == v.Status }) {
		v.DeliveriesError, _ = s.explain(r, errAdminStatus)
		v.Status = ""
		status = http.StatusBadRequest
	} else if msgs, err = s.o.Admin.ListMessages(r.Context(), v.Status, "", adminDeliveries); err != nil {
		v.DeliveriesError, _ = s.explain(r, err)
	}
	for _, m := range msgs {
		kind := adminKindNames[m.Kind]
		if kind == "" {
			kind = m.Kind
		}
		v.Deliveries = append(v.Deliveries, adminDelivery{
			Kind: kind, Channel: m.Channel, To: auth.MaskAddress(m.To), Status: m.Status,
			Attempts: m.Attempts, LastError: m.LastError, Created: adminTimeOf(m.CreatedAt),
		})
	}
	s.render(w, r, status, "admin", v)
}

// adminKindNames names the kinds of delivery for people.
var adminKindNames = map[string]string{
	auth.KindSignInCode: "Sign-in code", auth.KindMagicLink: "Sign-in link", auth.KindRecovery: "Password reset",
	auth.KindMFACode: "Second-factor code", auth.KindSMSCode: "Code by SMS",
	auth.KindMFALocked: "Second step locked", auth.KindVerifyEmail: "Email confirmation",
	auth.KindMethodAdded: "Sign-in method added",
}

// adminSession is a session of the user shown: metadata only.
type adminSession struct {
	Device, UserAgent, IP string
	SecondFactor          bool
	Created, LastSeen     adminTime
}

// adminUserView is the data of admin_user.html.
type adminUserView struct {
	User            adminUserRow
	Name            string
	HasPassword     bool
	Updated         adminTime
	DisabledAt      adminTime
	Sessions        []adminSession
	Identities      []adminIdentity
	Passkeys        []adminPasskey
	Factors         []string
	BackupCodesLeft int
	// Roles are the user's roles; RolesText, the same comma-separated, is
	// the roles form's value.
	Roles     []string
	RolesText string
	// Audit are the user's latest audit events, newest first.
	Audit []adminAudit
	// Self is set when the admin looks at their own account: the page
	// offers no action that would lock them out.
	Self          bool
	Error, Notice string
}

// adminIdentity is a provider identity linked to the user shown.
type adminIdentity struct {
	// Label is the provider's label ("Google"), or its configured name
	// when it is no longer configured.
	Label, Email  string
	EmailVerified bool
	Linked        adminTime
	// LastUsed is zero until the first sign-in after the link.
	LastUsed adminTime
	// TokensKept: the provider's tokens are kept for it
	// (GATEHOUSE_OAUTH_<NAME>_STORE_TOKENS), readable through the admin API.
	TokensKept bool
}

// adminPasskey is a passkey of the user shown: its name and dates, never
// its key.
type adminPasskey struct {
	Name              string
	Created, LastUsed adminTime
}

// adminAudit is an audit event of the user shown.
type adminAudit struct {
	What, Detail, IP, UserAgent string
	At                          adminTime
}

// adminAuditNames names the audit events for people; an event not named
// here shows its kind.
var adminAuditNames = map[string]string{
	"backup_code_used": "Backup code used", "backup_codes_replaced": "Backup codes replaced",
	"factor_added": "Second factor added", "factor_removed": "Second factor removed",
	"factors_reset":          "Second factors turned off by an admin",
	auth.AuditAccountClaimed: "Account claimed", auth.AuditAddressReleased: "Address released to its owner",
	auth.AuditEmailVerified: "Email address verified", auth.AuditEmailChanged: "Email address changed",
	auth.AuditPhoneChanged: "Phone number changed",
	auth.AuditMFALocked:    "Second step locked after wrong codes", auth.AuditSignInLocked: "Sign-in locked after wrong passwords",
	auth.AuditClientLimited: "Client address limited",
	auth.AuditPasskeyAdded:  "Passkey added", auth.AuditPasskeyRemoved: "Passkey removed",
	auth.AuditPasskeyCounterRegressed: "Passkey refused: its counter went back (a possible clone)",
	auth.AuditIdentityLinked:          "Provider linked", auth.AuditIdentityUnlinked: "Provider unlinked",
	auth.AuditProviderSignIn: "Signed in with a provider", auth.AuditProviderTokensRead: "Provider tokens read through the admin API",
	auth.AuditRolesChanged: "Roles changed",
}

// adminFactorNames names second-factor kinds for people.
var adminFactorNames = map[string]string{
	auth.FactorTOTP: "Authenticator app", auth.FactorEmail: "Email code", auth.FactorWebAuthn: "Passkey",
}

// providerLabels maps the configured providers' names to their labels.
func (s *Server) providerLabels() map[string]string {
	labels := make(map[string]string, len(s.o.Providers))
	for _, pr := range s.o.Providers {
		labels[pr.Name()] = pr.Label()
	}
	return labels
}

// adminUser loads what the page of one user shows.
func (s *Server) adminUser(r *http.Request, p *auth.Principal, id string) (*adminUserView, error) {
	ctx := r.Context()
	u, err := s.auth.AdminUser(ctx, id)
	if err != nil {
		return nil, err
	}
	sessions, err := s.auth.AdminSessions(ctx, id)
	if err != nil {
		return nil, err
	}
	kinds, backup, err := s.auth.AdminFactors(ctx, id)
	if err != nil {
		return nil, err
	}
	identities, err := s.auth.AdminIdentities(ctx, id)
	if err != nil {
		return nil, err
	}
	passkeys, err := s.auth.AdminPasskeys(ctx, id)
	if err != nil {
		return nil, err
	}
	events, err := s.o.Admin.AuditEvents(ctx, id, "", adminAuditEvents)
	if err != nil {
		return nil, fmt.Errorf("admin page: audit events of %s: %w", id, err)
	}
	v := &adminUserView{
		User: adminRow(u), Name: u.Name, HasPassword: u.HasPassword(), Updated: adminTimeOf(u.UpdatedAt),
		BackupCodesLeft: backup, Self: u.ID == p.User.ID,
		Roles: u.Roles, RolesText: strings.Join(u.Roles, ", "),
	}
	if u.DisabledAt != nil {
		v.DisabledAt = adminTimeOf(*u.DisabledAt)
	}
	for _, k := range kinds {
		name := adminFactorNames[k]
		if name == "" {
			name = k
		}
		v.Factors = append(v.Factors, name)
	}
	labels := s.providerLabels()
	for _, li := range identities {
		row := adminIdentity{Label: labels[li.Provider], Email: li.Email, EmailVerified: li.EmailVerified, Linked: adminTimeOf(li.CreatedAt),
			TokensKept: li.HasTokens}
		if row.Label == "" {
			row.Label = li.Provider // a provider no longer configured
		}
		if li.LastUsedAt != nil {
			row.LastUsed = adminTimeOf(*li.LastUsedAt)
		}
		v.Identities = append(v.Identities, row)
	}
	for _, pk := range passkeys {
		row := adminPasskey{Name: pk.Name, Created: adminTimeOf(pk.CreatedAt)}
		if pk.LastUsedAt != nil {
			row.LastUsed = adminTimeOf(*pk.LastUsedAt)
		}
		v.Passkeys = append(v.Passkeys, row)
	}
	for _, ev := range events {
		what := adminAuditNames[ev.Kind]
		if what == "" {
			what = ev.Kind
		}
		v.Audit = append(v.Audit, adminAudit{What: what, Detail: ev.Detail, IP: ev.IP, UserAgent: ev.UserAgent, At: adminTimeOf(ev.CreatedAt)})
	}
	for _, sess := range sessions {
		v.Sessions = append(v.Sessions, adminSession{
			Device: useragent.Device(sess.UserAgent), UserAgent: sess.UserAgent, IP: sess.IP,
			SecondFactor: sess.AAL == auth.AAL2, Created: adminTimeOf(sess.CreatedAt), LastSeen: adminTimeOf(sess.LastSeenAt),
		})
	}
	return v, nil
}

// adminNotices are the messages a finished action leaves on the user's
// page (?done=…); only these fixed texts can appear.
var adminNotices = map[string]string{
	"disable":         "The account is disabled: every session of it has ended and it cannot sign in.",
	"enable":          "The account is enabled: it can sign in again.",
	"sessions/revoke": "Every session of the account has ended.",
	"admin/grant":     "The account has the admin role now.",
	"admin/remove":    "The account no longer has the admin role.",
	"factors/reset":   "Every second factor of the account is off, and every session of it has ended.",
	"roles":           "The account's roles are saved. Its sessions see them at once.",
}

// adminUserPage shows one user, with the notice an action's redirect
// asked for.
func (s *Server) adminUserPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	v, err := s.adminUser(r, p, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v.Notice = adminNotices[r.URL.Query().Get("done")]
	s.render(w, r, http.StatusOK, "admin_user", v)
}

// errAdminSelf refuses an action that would lock the admin out.
var errAdminSelf = &auth.Error{Kind: auth.KindForbidden, Message: "You cannot do this to your own account: ask another admin."}

// adminActions are the POST actions on a user, by the last part of their
// address.
var adminActions = map[string]func(s *Server, r *http.Request, p *auth.Principal, id string) error{
	"disable": func(s *Server, r *http.Request, p *auth.Principal, id string) error {
		if id == p.User.ID {
			return errAdminSelf
		}
		_, err := s.auth.AdminUpdateUser(r.Context(), id, auth.AdminUpdate{Disabled: new(true)})
		return err
	},
	"enable": func(s *Server, r *http.Request, _ *auth.Principal, id string) error {
		_, err := s.auth.AdminUpdateUser(r.Context(), id, auth.AdminUpdate{Disabled: new(false)})
		return err
	},
	"sessions/revoke": func(s *Server, r *http.Request, _ *auth.Principal, id string) error {
		return s.auth.AdminRevokeSessions(r.Context(), id)
	},
	"admin/grant": func(s *Server, r *http.Request, _ *auth.Principal, id string) error {
		_, err := s.auth.AdminUpdateUser(r.Context(), id, auth.AdminUpdate{Admin: new(true)})
		return err
	},
	"admin/remove": func(s *Server, r *http.Request, p *auth.Principal, id string) error {
		if id == p.User.ID {
			return errAdminSelf
		}
		_, err := s.auth.AdminUpdateUser(r.Context(), id, auth.AdminUpdate{Admin: new(false)})
		return err
	},
	// roles replaces the roles with the form's comma-separated list. An
	// admin may change their own roles but not drop their admin role.
	"roles": func(s *Server, r *http.Request, p *auth.Principal, id string) error {
		var roles []string
		for name := range strings.SplitSeq(r.PostFormValue("roles"), ",") {
			if name = strings.TrimSpace(name); name != "" {
				roles = append(roles, name)
			}
		}
		if id == p.User.ID && !slices.Contains(roles, auth.RoleAdmin) {
			return errAdminSelf
		}
		_, err := s.auth.AdminSetRoles(r.Context(), id, roles, client(r))
		return err
	},
	// An admin's own factors are turned off from the account page, with
	// the second factor in hand; here only another's.
	"factors/reset": func(s *Server, r *http.Request, p *auth.Principal, id string) error {
		if id == p.User.ID {
			return errAdminSelf
		}
		return s.auth.AdminResetFactors(r.Context(), id, client(r))
	},
}

// adminAction runs one action and shows the user's page again: a redirect
// (with the notice) for a plain form post, the page itself for htmx. A
// refused action shows the page with the reason.
func (s *Server) adminAction(action string, do func(*Server, *http.Request, *auth.Principal, string) error) func(http.ResponseWriter, *http.Request, *auth.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
		id := r.PathValue("id")
		if err := do(s, r, p, id); err != nil {
			kind := auth.KindOf(err)
			if kind != auth.KindForbidden && kind != auth.KindInvalidRequest {
				s.fail(w, r, err)
				return
			}
			v, lerr := s.adminUser(r, p, id)
			if lerr != nil {
				s.fail(w, r, lerr)
				return
			}
			var fields map[string]string
			v.Error, fields = s.explain(r, err)
			if f := fields["roles"]; f != "" {
				v.Error = "Roles not saved: " + f + "."
			}
			s.render(w, r, httpauth.Status(kind), "admin_user", v)
			return
		}
		if id == p.User.ID && action == "sessions/revoke" {
			s.redirect(w, r, s.path("/login")) // that ended this session too
			return
		}
		page := s.path("/admin/users/") + url.PathEscape(id)
		if !isHTMX(r) {
			s.redirect(w, r, page+"?done="+url.QueryEscape(action))
			return
		}
		v, err := s.adminUser(r, p, id)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		v.Notice = adminNotices[action]
		w.Header().Set("HX-Push-Url", page)
		s.render(w, r, http.StatusOK, "admin_user", v)
	}
}
