package gatehousetest

import (
	"net/http"
	"testing"
	"time"
)

// User is a user as the API shows it.
type User struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	EmailVerified bool      `json:"email_verified"`
	Phone         string    `json:"phone"`
	PhoneVerified bool      `json:"phone_verified"`
	Name          string    `json:"name"`
	HasPassword   bool      `json:"has_password"`
	Factors       []string  `json:"factors"`           // GET/PATCH /v1/user only
	BackupCodes   int       `json:"backup_codes_left"` // GET/PATCH /v1/user only
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// AdminUser is a user as the admin API shows it.
type AdminUser struct {
	User
	Disabled   bool       `json:"disabled"`
	DisabledAt *time.Time `json:"disabled_at"`
	Admin      bool       `json:"admin"`
	Roles      []string   `json:"roles"`
}

// Tokens is the answer of a grant at POST /v1/token.
type Tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	User         User   `json:"user"`
}

// Session is a session as GET /v1/sessions shows it.
type Session struct {
	ID         string    `json:"id"`
	UserID     string    `json:"user_id"`
	IP         string    `json:"ip"`
	UserAgent  string    `json:"user_agent"`
	AAL        string    `json:"aal"`
	AMR        []string  `json:"amr"`
	Browser    bool      `json:"browser"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	Current    bool      `json:"current"`
}

// SignUp creates an account at POST /v1/signup (passwordless when password
// is "") and returns it.
func (s *Server) SignUp(t testing.TB, email, password string) User {
	t.Helper()
	body := map[string]string{"email": email}
	if password != "" {
		s.Logs.Secret(password)
		body["password"] = password
	}
	var out struct {
		User User `json:"user"`
	}
	s.Do(t, "POST", "/v1/signup", body).Want(http.StatusCreated).Strict(&out)
	return out.User
}

// PasswordGrant asks POST /v1/token for tokens with a password and returns
// the answer, whatever it is.
func (s *Server) PasswordGrant(t testing.TB, email, password string, opts ...RequestOption) *Response {
	t.Helper()
	s.Logs.Secret(password)
	return s.Do(t, "POST", "/v1/token", map[string]string{"grant_type": "password", "email": email, "password": password}, opts...)
}

// Tokens reads a 200 token answer and remembers its secrets.
func (s *Server) Tokens(r *Response) Tokens {
	r.T.Helper()
	var tok Tokens
	r.Want(http.StatusOK).Strict(&tok)
	if tok.AccessToken == "" || tok.RefreshToken == "" || tok.TokenType != "Bearer" {
		r.T.Fatalf("%s: tokens %s", r.Req, r.Body)
	}
	s.Logs.Secret(tok.AccessToken, tok.RefreshToken)
	return tok
}

// SignIn signs in with a password and returns the tokens.
func (s *Server) SignIn(t testing.TB, email, password string) Tokens {
	t.Helper()
	return s.Tokens(s.PasswordGrant(t, email, password))
}

// Account signs up email with Password and signs it in.
func (s *Server) Account(t testing.TB, email string) Tokens {
	t.Helper()
	s.SignUp(t, email, Password)
	return s.SignIn(t, email, Password)
}
