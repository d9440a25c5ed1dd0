package api

import (
	"time"

	"github.com/gatehouse/gatehouse/auth"
)

// User is an account as its owner sees it.
type User struct {
	ID            string    `json:"id" format:"uuid"`
	Email         string    `json:"email" format:"email"`
	EmailVerified bool      `json:"email_verified"`
	Phone         string    `json:"phone" doc:"E.164, or empty."`
	PhoneVerified bool      `json:"phone_verified"`
	Name          string    `json:"name"`
	HasPassword   bool      `json:"has_password"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// userView returns u as its owner sees it.
func userView(u *auth.User) User {
	return User{
		ID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Phone: u.Phone, PhoneVerified: u.PhoneVerified,
		Name: u.Name, HasPassword: u.HasPassword(), CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
	}
}

// AdminUser is an account as an administrator sees it.
type AdminUser struct {
	User
	Disabled   bool       `json:"disabled"`
	DisabledAt *time.Time `json:"disabled_at,omitempty"`
	Admin      bool       `json:"admin" doc:"The user has the admin role (the /admin page)."`
	Roles      []string   `json:"roles" doc:"The user's role names, sorted; admin among them exactly when admin is true."`
	// Identities is filled in by GET /v1/admin/users/{id} only: a list
	// of users would cost a query per user.
	Identities []IdentityView `json:"identities,omitempty" doc:"The sign-ins with other providers linked to the user, oldest first; in GET /v1/admin/users/{id} only."`
}

// adminUserView returns u as an administrator sees it.
func adminUserView(u *auth.User) AdminUser {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return AdminUser{User: userView(u), Disabled: u.Disabled(), DisabledAt: u.DisabledAt, Admin: u.Admin, Roles: roles}
}

// Session is a session's metadata; token values are never shown.
type Session struct {
	ID         string    `json:"id" format:"uuid"`
	UserID     string    `json:"user_id" format:"uuid"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	AAL        string    `json:"aal" enum:"aal1,aal2"`
	AMR        []string  `json:"amr"`
	Browser    bool      `json:"browser" doc:"A cookie session (true) or a token session (false)."`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current,omitempty" doc:"The session this request is made with."`
}

// sessionView returns s's metadata; current marks the request's own.
func sessionView(s *auth.Session, current bool) Session {
	amr := s.AMR
	if amr == nil {
		amr = []string{}
	}
	return Session{
		ID: s.ID, UserID: s.UserID, IP: s.IP, UserAgent: s.UserAgent, AAL: s.AAL, AMR: amr,
		Browser: s.CookieHash != nil, CreatedAt: s.CreatedAt, LastSeenAt: s.LastSeenAt, ExpiresAt: s.ExpiresAt, Current: current,
	}
}

// Tokens are the response to a sign-in or a refresh.
// When the account has a second factor on, a first factor returns only
// mfa_required, mfa_token and factors; POST /v1/token grant mfa finishes.
type Tokens struct {
	AccessToken  string   `json:"access_token,omitempty"`
	TokenType    string   `json:"token_type,omitempty" enum:"Bearer"`
	ExpiresIn    int      `json:"expires_in,omitempty" doc:"Seconds until the access token expires."`
	RefreshToken string   `json:"refresh_token,omitempty"`
	User         *User    `json:"user,omitempty"`
	MFARequired  bool     `json:"mfa_required,omitempty" doc:"A second factor is needed: no tokens yet."`
	MFAToken     string   `json:"mfa_token,omitempty" doc:"For grant mfa and POST /v1/mfa/challenge; valid 5 minutes."`
	Factors      []string `json:"factors,omitempty" doc:"The second factors that can finish this sign-in." enum:"totp,email,backup_code,webauthn"`
}

// tokensView returns the tokens of g, or its second-factor step.
func tokensView(g *auth.Grant) Tokens {
	if g.MFA != nil {
		return Tokens{MFARequired: true, MFAToken: g.MFA.Token, Factors: g.MFA.Factors}
	}
	u := userView(g.User)
	return Tokens{
		AccessToken: g.AccessToken, TokenType: "Bearer", ExpiresIn: int(g.ExpiresIn.Seconds()),
		RefreshToken: g.RefreshToken, User: &u,
	}
}

// Profile is the signed-in user's own view: the account and its second
// factors.
type Profile struct {
	User
	Factors         []string `json:"factors" doc:"Second factors that are on (webauthn: the user has a passkey)." enum:"totp,email,webauthn"`
	BackupCodesLeft int      `json:"backup_codes_left" doc:"Unused backup codes."`
}
