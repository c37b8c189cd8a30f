package meetingagent

import (
	"context"
	"errors"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

// maxRefreshMargin is how long before its expiry a cached token is replaced; tokens
// with a short lifetime are replaced when half of it is left.
const maxRefreshMargin = time.Minute

// A Token is a bearer token and when it stops being valid.
type Token struct {
	// Value is the token itself, for example a JWT from the identity service.
	Value string
	// Expiry is when the server stops accepting the token. The zero time means it
	// does not expire (or that the source should be asked only after the server
	// rejects it).
	Expiry time.Time
}

// A TokenSource returns a currently valid token. The client calls it when it has no
// cached token, when the cached one is about to expire, and after the server
// rejected one as expired. Calls never overlap; ctx is the context of the RPC that
// needs the token.
type TokenSource func(ctx context.Context) (Token, error)

// StaticToken is a [TokenSource] that always returns token, which never expires.
func StaticToken(token string) TokenSource {
	return func(context.Context) (Token, error) { return Token{Value: token}, nil }
}

// TokenCredentials sends the tokens of a [TokenSource] as `authorization: Bearer
// <token>` metadata; it implements [credentials.PerRPCCredentials]. [New] makes
// one from [WithToken] or [WithTokenSource]; make your own with
// [NewTokenCredentials] to use the generated stubs on a connection of your own.
type TokenCredentials struct {
	source        TokenSource
	allowInsecure bool
	now           func() time.Time // time.Now, replaced in tests

	// fixed is set for the credentials of WithToken, whose source never changes.
	fixed bool

	mu        sync.Mutex
	token     Token     // the cached token, if cached
	cached    bool      // whether token is usable until refreshAt
	refreshAt time.Time // when to ask the source again; zero for tokens without expiry
}

// TokenCredentials are per-RPC credentials.
var _ credentials.PerRPCCredentials = (*TokenCredentials)(nil)

// NewTokenCredentials returns credentials that send the tokens of src. With
// allowInsecure false, gRPC refuses to send them over a connection without
// transport security (TLS); set it only for plaintext connections you trust.
func NewTokenCredentials(src TokenSource, allowInsecure bool) *TokenCredentials {
	return &TokenCredentials{source: src, allowInsecure: allowInsecure, now: time.Now}
}

// GetRequestMetadata returns the authorization metadata of one call, asking the
// token source for a new token when the cached one is missing or about to expire.
// A failing source fails the call with UNAUTHENTICATED.
func (c *TokenCredentials) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	token, err := c.current(ctx)
	if err != nil {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}

// RequireTransportSecurity reports whether gRPC must refuse to send the token over a
// plaintext connection: true unless the credentials were made for one.
func (c *TokenCredentials) RequireTransportSecurity() bool { return !c.allowInsecure }

// Invalidate drops the cached token, so that the next call asks the source again.
func (c *TokenCredentials) Invalidate() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cached = false
}

// refreshable reports whether asking the source again may give another token.
func (c *TokenCredentials) refreshable() bool { return !c.fixed }

// current returns the cached token, or a new one from the source when there is
// none or it is due for replacement.
func (c *TokenCredentials) current(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.cached && (c.refreshAt.IsZero() || now.Before(c.refreshAt)) {
		return c.token.Value, nil
	}
	token, err := c.source(ctx)
	if err == nil && token.Value == "" {
		err = errors.New("the token source returned an empty token")
	}
	if err != nil {
		return "", status.Errorf(codes.Unauthenticated, "meetingagent: getting a bearer token: %v", err)
	}
	c.token, c.cached = token, true
	c.refreshAt = refreshTime(now, token.Expiry)
	return token.Value, nil
}

// refreshTime is when a token obtained at now and expiring at expiry should be
// replaced: maxRefreshMargin before expiry, or halfway for short-lived tokens. A
// token without expiry (zero result) is kept until it is invalidated.
func refreshTime(now, expiry time.Time) time.Time {
	if expiry.IsZero() {
		return time.Time{}
	}
	margin := min(maxRefreshMargin, expiry.Sub(now)/2)
	if margin < 0 {
		// Already expired: use it once (the server will say TOKEN_EXPIRED).
		return now
	}
	return expiry.Add(-margin)
}
