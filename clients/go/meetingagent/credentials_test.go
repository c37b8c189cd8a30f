package meetingagent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// fakeClock is a settable time for TokenCredentials.now.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// countingSource returns tokens "token-1", "token-2", ... expiring lifetime after
// the clock's time (never, for lifetime 0).
func countingSource(clock *fakeClock, lifetime time.Duration, calls *atomic.Int32) TokenSource {
	return func(context.Context) (Token, error) {
		n := calls.Add(1)
		token := Token{Value: fmt.Sprintf("token-%d", n)}
		if lifetime > 0 {
			token.Expiry = clock.t.Add(lifetime)
		}
		return token, nil
	}
}

func authorization(t *testing.T, c *TokenCredentials) string {
	t.Helper()
	md, err := c.GetRequestMetadata(context.Background(), "https://meeting-agent")
	if err != nil {
		t.Fatalf("GetRequestMetadata: %v", err)
	}
	return md["authorization"]
}

func TestStaticToken(t *testing.T) {
	c := NewTokenCredentials(StaticToken("abc"), false)
	if got := authorization(t, c); got != "Bearer abc" {
		t.Errorf("authorization = %q, want %q", got, "Bearer abc")
	}
	if !c.RequireTransportSecurity() {
		t.Error("credentials made without allowInsecure do not require transport security")
	}
	if NewTokenCredentials(StaticToken("abc"), true).RequireTransportSecurity() {
		t.Error("credentials made with allowInsecure require transport security")
	}
}

// tokenStep is a call made at a time after the start, and the token it must send.
type tokenStep struct {
	at   time.Duration
	want string
}

func TestTokenSourceRefreshesBeforeExpiry(t *testing.T) {
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		lifetime time.Duration
		steps    []tokenStep
	}{
		{"ten minutes, refreshed a minute early", 10 * time.Minute, []tokenStep{{0, "token-1"}, {8 * time.Minute, "token-1"}, {9*time.Minute - time.Second, "token-1"}, {9 * time.Minute, "token-2"}, {17 * time.Minute, "token-2"}, {18 * time.Minute, "token-3"}}},
		{"thirty seconds, refreshed halfway", 30 * time.Second, []tokenStep{{0, "token-1"}, {14 * time.Second, "token-1"}, {15 * time.Second, "token-2"}}},
		{"no expiry, kept", 0, []tokenStep{{0, "token-1"}, {24 * time.Hour, "token-1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &fakeClock{t: start}
			var calls atomic.Int32
			c := NewTokenCredentials(countingSource(clock, tt.lifetime, &calls), false)
			c.now = clock.now
			for _, step := range tt.steps {
				clock.t = start.Add(step.at)
				if got := authorization(t, c); got != "Bearer "+step.want {
					t.Errorf("at +%v: authorization = %q, want %q", step.at, got, "Bearer "+step.want)
				}
			}
		})
	}
}

func TestTokenInvalidate(t *testing.T) {
	clock := &fakeClock{t: time.Now()}
	var calls atomic.Int32
	c := NewTokenCredentials(countingSource(clock, 0, &calls), false)
	c.now = clock.now
	authorization(t, c)
	authorization(t, c)
	c.Invalidate()
	if got := authorization(t, c); got != "Bearer token-2" {
		t.Errorf("after Invalidate authorization = %q, want a new token", got)
	}
	if calls.Load() != 2 {
		t.Errorf("source called %d times, want 2", calls.Load())
	}
}

func TestTokenSourceFailure(t *testing.T) {
	for name, src := range map[string]TokenSource{
		"error":       func(context.Context) (Token, error) { return Token{}, errors.New("identity service down") },
		"empty token": func(context.Context) (Token, error) { return Token{}, nil },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewTokenCredentials(src, false).GetRequestMetadata(context.Background())
			if status.Code(err) != codes.Unauthenticated {
				t.Errorf("GetRequestMetadata error = %v, want UNAUTHENTICATED", err)
			}
		})
	}
}

// TestTokenSourceCalledOnce checks that concurrent calls share one refresh.
func TestTokenSourceCalledOnce(t *testing.T) {
	var calls atomic.Int32
	c := NewTokenCredentials(func(context.Context) (Token, error) {
		calls.Add(1)
		time.Sleep(20 * time.Millisecond)
		return Token{Value: "shared", Expiry: time.Now().Add(time.Hour)}, nil
	}, false)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			if _, err := c.GetRequestMetadata(context.Background()); err != nil {
				t.Errorf("GetRequestMetadata: %v", err)
			}
		})
	}
	wg.Wait()
	if calls.Load() != 1 {
		t.Errorf("16 concurrent calls asked the source %d times, want 1", calls.Load())
	}
}

// TestTokenSentAndRefreshedOnExpiredReason runs calls through a server that rejects
// the first token as expired although its Expiry says otherwise (the server's clock
// is ahead): the client must get a new token and retry once, and only when the
// token can change.
func TestTokenSentAndRefreshedOnExpiredReason(t *testing.T) {
	f := &fakeServer{}
	f.tasks.getTask = func(ctx context.Context, _ *meetingagentv1.GetTaskRequest) (*meetingagentv1.GetTaskResponse, error) {
		md, _ := metadata.FromIncomingContext(ctx)
		if slices.Contains(md.Get("authorization"), "Bearer token-1") {
			return nil, richError(codes.Unauthenticated, ReasonTokenExpired, 0)
		}
		return &meetingagentv1.GetTaskResponse{Task: &meetingagentv1.Task{Name: "tasks/t1"}}, nil
	}
	clock := &fakeClock{t: time.Now()}
	var calls atomic.Int32
	c := newFakeClient(t, f, WithTokenSource(countingSource(clock, time.Hour, &calls)))

	if _, err := c.Tasks.GetTask(context.Background(), &meetingagentv1.GetTaskRequest{Name: "tasks/t1"}); err != nil {
		t.Fatalf("GetTask: %v", err)
	}
	if got, want := f.seenAuthorizations(), []string{"Bearer token-1", "Bearer token-2"}; !slices.Equal(got, want) {
		t.Errorf("server saw authorizations %q, want %q", got, want)
	}

	static := &fakeServer{tasks: fakeTasks{getTask: f.tasks.getTask}}
	sc := newFakeClient(t, static, WithToken("token-1"))
	_, err := sc.Tasks.GetTask(context.Background(), &meetingagentv1.GetTaskRequest{Name: "tasks/t1"})
	if ErrorReason(err) != ReasonTokenExpired {
		t.Errorf("GetTask with an expired static token: error %v, want reason %s", err, ReasonTokenExpired)
	}
	if got := len(static.seenAuthorizations()); got != 1 {
		t.Errorf("a static token was sent %d times, want 1 (no retry can help)", got)
	}
}
