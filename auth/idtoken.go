package auth

import (
	"context"
	"errors"
)

// errIDTokenRefused answers every ID token that does not verify, whatever
// check failed: which one is logged, never told, so a forger learns
// nothing from the answer.
var errIDTokenRefused = &Error{Kind: KindInvalidCredentials, Message: "The ID token could not be verified."}

// SignInIDToken signs in with an ID token a native app got from the
// provider's own SDK (the id_token grant): verify checks the token
// (signature against the provider's keys, iss, aud among our client IDs,
// exp, and the nonce when given) and returns who it vouches for, then the
// identity lands in an account as SignInProvider decides.
//
// verify's contract: an *Error it returns (the provider unreachable, say)
// is returned as it is; any other error means the token did not verify,
// is answered invalid_credentials, and its text is logged, so it must
// name the failed check and never hold the token.
//
// Every failure counts against the client's wrong-code limit, as a
// passkey sign-in's does, and a success takes its try back. A token
// costs nothing to forge, and each one signed with a key ID the provider
// never had makes the verifier fetch the provider's keys again: without
// the limit, a flood of forged tokens from one client is a flood of
// requests to the provider, on our behalf, and free guesses at it.
func (s *Service) SignInIDToken(ctx context.Context, provider string, verify func(context.Context) (ProviderIdentity, error)) (*Proof, error) {
	const flow = "id_token"
	p, err := s.signInIDToken(ctx, provider, verify)
	if err != nil {
		s.observe(flow, err)
	}
	return p, err
}

func (s *Service) signInIDToken(ctx context.Context, provider string, verify func(context.Context) (ProviderIdentity, error)) (*Proof, error) {
	if err := s.identitiesOn(); err != nil {
		return nil, err
	}
	giveBack, err := s.take(ctx, guard{client: ClientFrom(ctx)})
	if err != nil {
		return nil, err
	}
	id, err := verify(ctx)
	if err != nil {
		var ae *Error
		if errors.As(err, &ae) {
			return nil, err
		}
		s.log.InfoContext(ctx, "ID token refused", "provider", provider, "reason", err.Error())
		return nil, errIDTokenRefused
	}
	// The token verified: what the linking rules decide next is no
	// forgery, and is not counted.
	giveBack(ctx)
	return s.signInProvider(ctx, id)
}
