package auth_test

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/sqlstore"
)

func TestSignUp(t *testing.T) {
	forEachStore(t, func(t *testing.T, st *sqlstore.Store) {
		run(t, st, "normalises and stores", func(t *testing.T, e *env) {
			tag := email("Alice")
			in := "  " + strings.ToUpper(tag) + " \t\n"
			u, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: in, Password: goodPassword, Name: "  Alice Liddell \t"})
			if err != nil {
				t.Fatalf("SignUp: %v", err)
			}
			if u.Email != strings.ToLower(tag) || u.Name != "Alice Liddell" || u.EmailVerified || !u.HasPassword() || u.Disabled() {
				t.Errorf("SignUp answered %+v; want email %q, name %q, a password, unverified, enabled", *u, strings.ToLower(tag), "Alice Liddell")
			}
			if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
				t.Errorf("PasswordHash = %q; want an argon2id hash with the hasher's parameters", u.PasswordHash)
			}
			if !u.CreatedAt.Equal(e.now()) || !u.UpdatedAt.Equal(e.now()) {
				t.Errorf("CreatedAt, UpdatedAt = %v, %v; want %v", u.CreatedAt, u.UpdatedAt, e.now())
			}
			checkUser(t, "stored user", e.storedUser(u.ID), u)
			// The address signs in whatever its case and spacing.
			g := e.signIn(" "+strings.ToUpper(tag), goodPassword, client())
			if g.User.ID != u.ID {
				t.Errorf("sign-in found user %s; want %s", g.User.ID, u.ID)
			}
		})

		run(t, st, "passwordless", func(t *testing.T, e *env) {
			addr := email("nopw")
			u := e.signUp(addr, "")
			if u.HasPassword() || u.PasswordHash != "" {
				t.Errorf("passwordless account has PasswordHash %q", u.PasswordHash)
			}
			checkUser(t, "stored user", e.storedUser(u.ID), u)
		})

		run(t, st, "email taken, case-insensitively", func(t *testing.T, e *env) {
			addr := email("dup")
			first := e.signUp(addr, goodPassword)
			taken := &auth.Error{Kind: auth.KindEmailTaken, Message: "An account with this email already exists.",
				Fields: []auth.FieldError{{Field: "email", Message: "is already registered"}}}
			for _, again := range []string{addr, strings.ToUpper(addr), "  " + addr + "  "} {
				for _, pw := range []string{"", newPassword} {
					_, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: again, Password: pw})
					checkErr(t, "SignUp("+again+")", err, taken)
				}
			}
			// The first account is untouched.
			checkUser(t, "first account", e.storedUser(first.ID), first)
		})

		run(t, st, "weak password creates nothing", func(t *testing.T, e *env) {
			addr := email("weak")
			_, err := e.svc.SignUp(e.ctx, auth.SignUpInput{Email: addr, Password: "password1"})
			checkErr(t, "SignUp", err, weak("password", "is too common; choose a less guessable password"))
			if _, err := e.svc.AdminUserByEmail(e.ctx, addr); auth.KindOf(err) != auth.KindNotFound {
				t.Errorf("after a refused sign-up, AdminUserByEmail: %v; want not_found", err)
			}
			e.signUp(addr, goodPassword) // the address is still free
		})
	})
}

// TestSignUpValidation needs no database rows: every case is refused
// before the store is touched.
func TestSignUpValidation(t *testing.T) {
	long254 := strings.Repeat("a", 254-len("@example.com")) + "@example.com"
	emailInvalid := auth.FieldError{Field: "email", Message: "must be a valid email address"}
	emailRequired := auth.FieldError{Field: "email", Message: "is required"}
	nameControl := auth.FieldError{Field: "name", Message: "must not contain control characters"}
	nameLong := auth.FieldError{Field: "name", Message: "must be at most 200 characters"}
	tests := []struct {
		name string
		in   auth.SignUpInput
		want *auth.Error // nil: accepted
	}{
		{"empty email", auth.SignUpInput{Email: ""}, invalid(emailRequired)},
		{"blank email", auth.SignUpInput{Email: " \t\n "}, invalid(emailRequired)},
		{"no at", auth.SignUpInput{Email: "plain.example.com"}, invalid(emailInvalid)},
		{"no local part", auth.SignUpInput{Email: "@example.com"}, invalid(emailInvalid)},
		{"no domain", auth.SignUpInput{Email: "a@"}, invalid(emailInvalid)},
		{"undotted domain", auth.SignUpInput{Email: "a@localhost"}, invalid(emailInvalid)},
		{"domain starts with a dot", auth.SignUpInput{Email: "a@.example.com"}, invalid(emailInvalid)},
		{"domain ends with a dot", auth.SignUpInput{Email: "a@example.com."}, invalid(emailInvalid)},
		{"double dot", auth.SignUpInput{Email: "a@example..com"}, invalid(emailInvalid)},
		{"two ats", auth.SignUpInput{Email: "a@b@example.com"}, invalid(emailInvalid)},
		{"display name", auth.SignUpInput{Email: "Alice <a@example.com>"}, invalid(emailInvalid)},
		{"two addresses", auth.SignUpInput{Email: "a@example.com, b@example.com"}, invalid(emailInvalid)},
		{"space inside", auth.SignUpInput{Email: "a b@example.com"}, invalid(emailInvalid)},
		{"quoted local part", auth.SignUpInput{Email: `"a b"@example.com`}, invalid(emailInvalid)},
		{"comment", auth.SignUpInput{Email: "a(x)@example.com"}, invalid(emailInvalid)},
		{"NUL", auth.SignUpInput{Email: "a\x00@example.com"}, invalid(emailInvalid)},
		{"invalid UTF-8", auth.SignUpInput{Email: "\xff@example.com"}, invalid(emailInvalid)},
		{"255 characters", auth.SignUpInput{Email: "a" + long254}, invalid(emailInvalid)},
		{"254 characters", auth.SignUpInput{Email: long254}, nil},
		{"name with NUL", auth.SignUpInput{Email: "n1@example.com", Name: "Bob\x00"}, invalid(nameControl)},
		{"name with newline", auth.SignUpInput{Email: "n2@example.com", Name: "Bob\nSmith"}, invalid(nameControl)},
		{"name with escape", auth.SignUpInput{Email: "n3@example.com", Name: "Bob\x1b[31m"}, invalid(nameControl)},
		{"name with DEL", auth.SignUpInput{Email: "n4@example.com", Name: "Bob\x7f"}, invalid(nameControl)},
		{"name with C1 CSI", auth.SignUpInput{Email: "n5@example.com", Name: "Bob\u009b31m"}, invalid(nameControl)},
		{"name with invalid UTF-8", auth.SignUpInput{Email: "n6@example.com", Name: "Bob\xff"}, invalid(nameControl)},
		{"name of 201 characters", auth.SignUpInput{Email: "n7@example.com", Name: strings.Repeat("é", 201)}, invalid(nameLong)},
		{"name of 200 characters", auth.SignUpInput{Email: "n8@example.com", Name: strings.Repeat("é", 200)}, nil},
		{"bad email and bad name", auth.SignUpInput{Email: "nope", Name: "\x00"}, invalid(emailInvalid, nameControl)},
		{"bad email and weak password: both, as invalid_request", auth.SignUpInput{Email: "nope", Password: "short"}, invalid(emailInvalid, auth.FieldError{Field: "password", Message: "must be at least 8 characters"})},
		{"short password", auth.SignUpInput{Email: "p1@example.com", Password: "seven77"}, weak("password", "must be at least 8 characters")},
		{"common password", auth.SignUpInput{Email: "p2@example.com", Password: "password1"}, weak("password", "is too common; choose a less guessable password")},
		{"common password, other case", auth.SignUpInput{Email: "p3@example.com", Password: "PassWord123"}, weak("password", "is too common; choose a less guessable password")},
		{"short common password", auth.SignUpInput{Email: "p4@example.com", Password: "123456"}, weak("password", "must be at least 8 characters")},
		{"257 characters", auth.SignUpInput{Email: "p5@example.com", Password: strings.Repeat("x", 257)}, weak("password", "must be at most 256 characters")},
		{"256 characters", auth.SignUpInput{Email: "p6@example.com", Password: strings.Repeat("xy", 128)}, nil},
		{"8 characters", auth.SignUpInput{Email: "p7@example.com", Password: "zq8!Lm3#"}, nil},
	}
	forEachEnv(t, func(t *testing.T, e *env) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				u, err := e.svc.SignUp(e.ctx, tt.in)
				if tt.want == nil {
					if err != nil {
						t.Fatalf("SignUp: %v", err)
					}
					checkUser(t, "stored user", e.storedUser(u.ID), u)
					return
				}
				if u != nil {
					t.Errorf("SignUp answered a user with an error")
				}
				checkErr(t, "SignUp", err, tt.want)
			})
		}
	})
}

func TestNormalizeEmail(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"Alice@Example.COM", "alice@example.com"},
		{"  bob+tag@example.co.uk\n", "bob+tag@example.co.uk"},
		{"ÄNNE@EXAMPLE.COM", "änne@example.com"},
		{"\xff@example.com", ""},
		{"\xfe@example.com", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, ok := auth.NormalizeEmail(tt.in)
		if got != tt.want || ok != (tt.want != "") {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.want != "")
		}
	}
}
