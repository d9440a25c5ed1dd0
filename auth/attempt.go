package auth

import (
	"context"
	"errors"
)

// attempt is one try at something that carries a secret code: a sign-in,
// recovery or phone code, a second factor (email code, authenticator code,
// backup code, a passkey as the second step). Every such try goes through
// tryCode, so each keeps the same limit (Config.OTPMaxAttempts) and the
// same order of work.
type attempt struct {
	// count records one more try on the challenge and returns how many
	// there have been, this one included. It returns ErrNotFound when the
	// challenge is gone (replaced or revoked a moment ago).
	count func(context.Context) (int, error)
	// match compares the code with what the challenge holds, in constant
	// time, and reports whether it is right.
	match func(context.Context) (bool, error)
	// gone is returned when the challenge vanished while being counted;
	// tooMany when the limit is reached; wrong for a wrong code below it.
	gone, tooMany, wrong *Error
	// guard is whose failures the try also counts against: the client's
	// across accounts, and for a second factor the account's across MFA
	// tokens and factors (Limiter).
	guard guard
}

// spent reports whether a challenge that has seen attempts tries may take
// no more: callers check it when they load one, so a dead challenge says
// so before anything else is done with it.
func (s *Service) spent(attempts int) bool { return attempts >= s.cfg.OTPMaxAttempts }

// tryCode counts a try and then checks its code; nil means the code is
// right and the challenge still had a try left.
//
// Count the try before comparing: counted after, tries made at once would
// all read the count from before any of them was recorded and pass the
// limit together, so an attacker sending many codes in parallel would get
// far more than OTPMaxAttempts guesses. Once the limit is reached the
// challenge is dead, even for the right code.
//
// The account's and the client's limits come first and count the same
// way, before the code is compared: one MFA token holds only
// OTPMaxAttempts tries, but a guesser who knows the password gets a fresh
// token at every sign-in, and one client can spread its guesses over many
// accounts; only counts that outlive a token and span accounts bound that.
// A right code takes its try back from them, so only failures stay.
func (s *Service) tryCode(ctx context.Context, a attempt) error {
	giveBack, err := s.take(ctx, a.guard)
	if err != nil {
		return err
	}
	n, err := a.count(ctx)
	if errors.Is(err, ErrNotFound) {
		return a.gone
	} else if err != nil {
		return storeErr("count try", err)
	}
	if n > s.cfg.OTPMaxAttempts {
		return a.tooMany
	}
	ok, err := a.match(ctx)
	if err != nil {
		return err
	}
	if !ok {
		if n >= s.cfg.OTPMaxAttempts {
			return a.tooMany
		}
		return a.wrong
	}
	giveBack(ctx)
	return nil
}
