package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/auth"
	"github.com/gatehouse/gatehouse/internal/aaguid"
	"github.com/gatehouse/gatehouse/internal/httpauth"
)

// Passkeys in the pages: the JSON endpoints static/passkey.js calls to sign
// in with a passkey (/login/passkey/…) and to add one to the account
// (/account/passkeys/…), and the account page's passkeys card, whose rename
// and remove are plain forms that work without JavaScript. Options and
// credentials travel in the browser's JSON forms, as through the API. The
// pages' cross-origin protection covers these posts like every other; the
// JSON ones also take nothing but application/json, which a form of
// another site cannot send. With passkeys off on the server (a public URL
// that cannot serve them) the pages show no passkey control and the
// endpoints answer 503.

// cardPasskeys is the account page's passkeys card.
const cardPasskeys = "passkeys"

// registerPasskeys registers the passkey endpoints and forms.
func (s *Server) registerPasskeys() {
	s.mux.HandleFunc("POST /login/passkey/begin", s.loginPasskeyBegin)
	s.mux.HandleFunc("POST /login/passkey/finish", s.loginPasskeyFinish)
	s.mux.HandleFunc("POST /account/passkeys/begin", s.signedInJSON(s.accountPasskeyBegin))
	s.mux.HandleFunc("POST /account/passkeys/finish", s.signedInJSON(s.accountPasskeyFinish))
	s.mux.HandleFunc("POST /account/passkeys/offered", s.signedInJSON(s.accountPasskeyOffered))
	s.mux.HandleFunc("POST /account/passkeys/{id}/rename", s.signedIn(s.accountForm(s.accountPasskeyRename)))
	s.mux.HandleFunc("POST /account/passkeys/{id}/remove", s.signedIn(s.accountForm(s.accountPasskeyRemove)))
}

// jsonAnswer is what the JSON endpoints answer besides a ceremony's
// options: where the browser goes next, or why the request was refused
// (Error, the flows' message; Code, the error's kind; Fields, messages by
// field).
type jsonAnswer struct {
	Redirect string            `json:"redirect,omitempty"`
	Error    string            `json:"error,omitempty"`
	Code     string            `json:"code,omitempty"`
	Fields   map[string]string `json:"fields,omitempty"`
	// MFAToken continues a sign-in that needs a second step: the script
	// posts it to /login/mfa/step, which shows that step.
	MFAToken string `json:"mfa_token,omitempty"`
}

// ceremonyAnswer starts a passkey ceremony in the browser.
type ceremonyAnswer struct {
	ChallengeID string          `json:"challenge_id"`
	PublicKey   json.RawMessage `json:"publicKey"`
}

// writeJSON answers v as JSON with status. (securityHeaders already made
// the answer no-store.)
func (s *Server) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// failJSON answers err as JSON: the status of its kind and the message the
// pages would show (explain), never more.
func (s *Server) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	msg, fields := s.explain(r, err)
	s.writeFailure(w, err, msg, fields)
}

// writeFailure answers err with the words msg and the field messages
// fields: its status and code, and Retry-After when it has one.
func (s *Server) writeFailure(w http.ResponseWriter, err error, msg string, fields map[string]string) {
	kind := auth.KindOf(err)
	var ae *auth.Error
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		w.Header().Set("Retry-After", httpauth.RetryAfter(ae.RetryAfter))
	}
	s.writeJSON(w, httpauth.Status(kind), jsonAnswer{Error: msg, Code: string(kind), Fields: fields})
}

// errNotJSON and errBadJSON refuse a body the endpoints cannot take.
var (
	errNotJSON  = &auth.Error{Kind: auth.KindInvalidRequest, Message: "Send this request as JSON (Content-Type: application/json)."}
	errBadJSON  = &auth.Error{Kind: auth.KindInvalidRequest, Message: "The request could not be read. Reload the page and try again."}
	errJSONSize = &auth.Error{Kind: auth.KindInvalidRequest, Message: "The request is too large."}
)

// readJSON decodes a JSON body (bounded like the forms) into v; an empty
// body is an empty object. A body it cannot take gets a JSON refusal.
func (s *Server) readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		s.writeJSON(w, http.StatusUnsupportedMediaType, jsonAnswer{Error: errNotJSON.Message, Code: string(errNotJSON.Kind)})
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	err := json.NewDecoder(r.Body).Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return true
	case errors.As(err, &tooBig):
		s.writeJSON(w, http.StatusRequestEntityTooLarge, jsonAnswer{Error: errJSONSize.Message, Code: string(errJSONSize.Kind)})
	default:
		s.failJSON(w, r, errBadJSON)
	}
	return false
}

// errSignedOut answers a JSON request without a live session.
var errSignedOut = &auth.Error{Kind: auth.KindUnauthorized, Message: "You are not signed in any more. Reload the page and sign in again."}

// signedInJSON is signedIn for the JSON endpoints: without a session the
// answer is a 401 the script shows, not a redirect to the sign-in page.
func (s *Server) signedInJSON(next func(http.ResponseWriter, *http.Request, *auth.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p, err := s.principal(r)
		if err == nil && p == nil {
			err = errSignedOut
		}
		if err != nil {
			s.failJSON(w, r, err)
			return
		}
		next(w, r.WithContext(httpauth.WithPrincipal(r.Context(), p)), p)
	}
}

// loginPasskeyBegin starts a passkey sign-in: usernameless without an
// email (the sign-in button, the autofill), else for that account's
// passkeys.
func (s *Server) loginPasskeyBegin(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	id, options, err := s.auth.BeginPasskeyLogin(r.Context(), in.Email)
	if err != nil {
		s.failJSON(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, ceremonyAnswer{ChallengeID: id, PublicKey: options})
}

// loginPasskeyFinish signs in with the browser's credential: the session
// cookie, as every page's sign-in sets it, and where to go, redirect_to
// checked as the sign-in forms check it.
func (s *Server) loginPasskeyFinish(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ChallengeID string          `json:"challenge_id"`
		Credential  json.RawMessage `json:"credential"`
		RedirectTo  string          `json:"redirect_to"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	proof, err := s.auth.SignInPasskey(r.Context(), in.ChallengeID, in.Credential)
	s.finishPasskeySignIn(w, r, proof, err, in.RedirectTo, s.failJSON)
}

// accountPasskeyBegin starts adding a passkey to the account.
func (s *Server) accountPasskeyBegin(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in struct{}
	if !s.readJSON(w, r, &in) {
		return
	}
	id, options, err := s.auth.BeginPasskeyRegistration(r.Context(), p)
	if err != nil {
		s.failJSON(w, r, secondFactorFirst(p, err, needAAL2))
		return
	}
	s.writeJSON(w, http.StatusOK, ceremonyAnswer{ChallengeID: id, PublicKey: options})
}

// accountPasskeyFinish stores the new passkey and sends the browser back
// to the account page, which lists it.
func (s *Server) accountPasskeyFinish(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in struct {
		ChallengeID string          `json:"challenge_id"`
		Name        string          `json:"name"`
		Credential  json.RawMessage `json:"credential"`
	}
	if !s.readJSON(w, r, &in) {
		return
	}
	if _, err := s.auth.FinishPasskeyRegistration(r.Context(), p, in.ChallengeID, in.Name, in.Credential, client(r)); err != nil {
		s.failJSON(w, r, secondFactorFirst(p, err, needAAL2))
		return
	}
	s.writeJSON(w, http.StatusCreated, jsonAnswer{Redirect: s.path("/?done=passkey_added#" + cardPasskeys)})
}

// passkeyOfferCookie remembers, in this browser, the accounts that were
// offered a passkey after a password sign-in, so the offer is made once.
// It holds short hashes of user IDs (passkeyOfferKey), not the IDs, and
// proves nothing: a browser that drops it sees the offer again.
const passkeyOfferCookie = "gatehouse_passkey_offered"

// passkeyOffersKept bounds the accounts the cookie remembers.
const passkeyOffersKept = 16

// passkeyOfferKey is userID's entry in passkeyOfferCookie.
func passkeyOfferKey(userID string) string {
	sum := sha256.Sum256([]byte("gatehouse passkey offer\x00" + userID))
	return hex.EncodeToString(sum[:8])
}

// passkeyOffers reads the entries of passkeyOfferCookie.
func passkeyOffers(r *http.Request) []string {
	c, err := r.Cookie(passkeyOfferCookie)
	if err != nil || c.Value == "" {
		return nil
	}
	return strings.Split(c.Value, ".")
}

// offerPasskey reports whether the account page offers p a passkey: once,
// to a session that began with a password, when passkeys are on and the
// account has none. (Whether the browser can make one, only the script
// knows: it shows the offer, and records it, only then.)
func (s *Server) offerPasskey(r *http.Request, p *auth.Principal, v *accountView) bool {
	if !v.Passkeys.On || len(v.Passkeys.List) > 0 || !slices.Contains(p.Session.AMR, auth.MethodPassword) {
		return false
	}
	return !slices.Contains(passkeyOffers(r), passkeyOfferKey(p.User.ID))
}

// accountPasskeyOffered records that the account was offered a passkey in
// this browser.
func (s *Server) accountPasskeyOffered(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	var in struct{}
	if !s.readJSON(w, r, &in) {
		return
	}
	key := passkeyOfferKey(p.User.ID)
	keys := []string{key}
	for _, k := range passkeyOffers(r) {
		if k != key && len(k) == len(key) && len(keys) < passkeyOffersKept {
			keys = append(keys, k)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name: passkeyOfferCookie, Value: strings.Join(keys, "."), Path: "/",
		MaxAge:   int((400 * 24 * time.Hour).Seconds()), // the most browsers keep a cookie
		HttpOnly: true, Secure: !s.o.Cookies.Insecure, SameSite: http.SameSiteLaxMode,
	})
	w.WriteHeader(http.StatusNoContent)
}

// passkeysCard is the account page's passkeys card.
type passkeysCard struct {
	card
	// On: passkeys work on this server; the card shows only then.
	On   bool
	List []passkeyRow
	// Confirm is the passkey whose removal waits for a confirmation.
	Confirm string
	// Editing is the passkey whose rename failed, Name what was typed.
	Editing, Name string
	// Offer invites the user to add a passkey (offerPasskey).
	Offer bool
}

// passkeyRow is one passkey as the card lists it.
type passkeyRow struct {
	// ID is the credential ID, base64url without padding (as the API
	// names it), which the forms' URLs carry.
	ID, Name string
	// Provider is the authenticator's maker from its AAGUID, "" when the
	// list does not know it.
	Provider string
	Created  moment
	LastUsed *moment
	// Synced: the passkey is backed up (synced to the user's other
	// devices); else it lives on this one device only.
	Synced bool
}

// passkeyRows lists the user's passkeys for the card.
func passkeyRows(list []auth.Passkey, now time.Time) []passkeyRow {
	rows := make([]passkeyRow, 0, len(list))
	for _, pk := range list {
		row := passkeyRow{
			ID: pk.IDString(), Name: pk.Name,
			Created: when(pk.CreatedAt, now), Synced: pk.BackupState,
		}
		row.Provider, _ = aaguid.Name(pk.AAGUID)
		if pk.LastUsedAt != nil {
			m := when(*pk.LastUsedAt, now)
			row.LastUsed = &m
		}
		rows = append(rows, row)
	}
	return rows
}

// accountPasskeyRename renames one of the user's passkeys.
func (s *Server) accountPasskeyRename(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	name := r.PostFormValue("name")
	id, err := auth.ParsePasskeyID(r.PathValue("id"))
	if err == nil {
		err = s.auth.RenamePasskey(r.Context(), p, id, name)
	}
	if err != nil {
		s.accountFail(w, r, p, cardPasskeys, err, "", func(v *accountView) {
			v.Passkeys.Editing, v.Passkeys.Name = r.PathValue("id"), name
			if !v.Passkeys.has(v.Passkeys.Editing) && v.Passkeys.Fields["name"] != "" {
				v.Passkeys.Error, v.Passkeys.Fields = v.Passkeys.Fields["name"], nil
			}
		})
		return
	}
	s.accountDone(w, r, p, "passkey_renamed")
}

// has reports whether the card lists the passkey id.
func (c *passkeysCard) has(id string) bool {
	return slices.ContainsFunc(c.List, func(row passkeyRow) bool { return row.ID == id })
}

// accountPasskeyRemove removes one of the user's passkeys. The first post
// (the row's Remove button) asks for a confirmation; the confirmation's
// post (confirm=yes) removes it. auth refuses the last way in to the
// account (409) and, when the account has a second factor, a session
// that did not pass one: both are said in the card.
func (s *Server) accountPasskeyRemove(w http.ResponseWriter, r *http.Request, p *auth.Principal) {
	id, err := auth.ParsePasskeyID(r.PathValue("id"))
	if err == nil && r.PostFormValue("confirm") != "yes" {
		v, verr := s.accountView(r.Context(), p)
		if verr != nil {
			s.fail(w, r, verr)
			return
		}
		if v.Passkeys.has(r.PathValue("id")) {
			v.Passkeys.Confirm = r.PathValue("id")
			s.respond(w, r, http.StatusOK, v, cardPasskeys)
			return
		}
		err = auth.ErrNoSuchPasskey
	}
	if err == nil {
		err = s.auth.RemovePasskey(r.Context(), p, id, client(r))
	}
	if err != nil {
		s.accountFail(w, r, p, cardPasskeys, secondFactorFirst(p, err, needAAL2), "", nil)
		return
	}
	s.accountDone(w, r, p, "passkey_removed")
}
