package meetingagent

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Defaults of [New].
const (
	// DefaultTimeout bounds each unary call whose context has no deadline.
	DefaultTimeout = 30 * time.Second
	// DefaultKeepaliveTime is how long a connection with open streams may be silent
	// before the client pings the server. The server accepts pings every 10 s or
	// less often; more frequent pings get the connection closed ("too_many_pings").
	DefaultKeepaliveTime = 30 * time.Second
	// DefaultKeepaliveTimeout is how long the client waits for a ping's answer before
	// it considers the connection dead.
	DefaultKeepaliveTimeout = 10 * time.Second
	// MinKeepaliveTime is the shortest keepalive time [WithKeepalive] accepts: the
	// server's default minimum interval between client pings.
	MinKeepaliveTime = 10 * time.Second
)

// An Option configures a [Client] in [New].
type Option func(*options)

// options is what the Options of one New call ask for.
type options struct {
	// transport is set by WithTLS, WithTransportCredentials or WithInsecure;
	// transportBy names the option that set it, to report conflicts.
	transport   credentials.TransportCredentials
	transportBy string
	insecure    bool

	tokens    TokenSource
	tokensBy  string
	keepalive keepalive.ClientParameters
	timeout   time.Duration
	retry     RetryPolicy
	userAgent string
	dialOpts  []grpc.DialOption

	errs []error
}

// defaultOptions is what New uses without options.
func defaultOptions() options {
	return options{
		keepalive: keepalive.ClientParameters{Time: DefaultKeepaliveTime, Timeout: DefaultKeepaliveTimeout},
		timeout:   DefaultTimeout,
		retry:     DefaultRetryPolicy(),
	}
}

// fail records an invalid option; New reports them all.
func (o *options) fail(format string, args ...any) {
	o.errs = append(o.errs, fmt.Errorf(format, args...))
}

// setTransport records the transport chosen by the option called by, refusing a
// second, different choice.
func (o *options) setTransport(by string, creds credentials.TransportCredentials, insecure bool) {
	if o.transportBy != "" && o.transportBy != by {
		o.fail("%s conflicts with %s: choose one transport", by, o.transportBy)
		return
	}
	o.transport, o.transportBy, o.insecure = creds, by, insecure
}

// setTokens records the token source chosen by the option called by, refusing a
// second, different choice.
func (o *options) setTokens(by string, src TokenSource) {
	if src == nil {
		o.fail("%s: nil token source", by)
		return
	}
	if o.tokensBy != "" && o.tokensBy != by {
		o.fail("%s conflicts with %s: choose one way to get tokens", by, o.tokensBy)
		return
	}
	o.tokens, o.tokensBy = src, by
}

// err joins the recorded problems, or returns nil.
func (o *options) err() error { return errors.Join(o.errs...) }

// WithTLS secures the connection with TLS. A nil config verifies the server against
// the system's root certificates; set RootCAs for a private CA and Certificates for
// mutual TLS. Without any transport option, [New] uses WithTLS(nil).
func WithTLS(config *tls.Config) Option {
	return func(o *options) {
		if config == nil {
			config = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		o.setTransport("WithTLS", credentials.NewTLS(config), false)
	}
}

// WithTransportCredentials secures the connection with other transport credentials,
// for example ALTS or a TLS setup built with google.golang.org/grpc/credentials.
// gRPC sends bearer tokens only over credentials that provide privacy and integrity
// (New fails for plaintext ones, such as insecure.NewCredentials()): for plaintext
// use [WithInsecure].
func WithTransportCredentials(creds credentials.TransportCredentials) Option {
	return func(o *options) {
		if creds == nil {
			o.fail("WithTransportCredentials: nil credentials")
			return
		}
		o.setTransport("WithTransportCredentials", creds, false)
	}
}

// WithInsecure connects in plaintext, for a server on the same host or in a trusted
// network (the embedded default server speaks plaintext). Bearer tokens then travel
// unencrypted: the client's token credentials report RequireTransportSecurity() ==
// false only under this option.
func WithInsecure() Option {
	return func(o *options) {
		o.setTransport("WithInsecure", insecure.NewCredentials(), true)
	}
}

// WithToken sends a fixed bearer token (`authorization: Bearer <token>`) with every
// call. Use [WithTokenSource] for tokens that expire while the client lives.
func WithToken(token string) Option {
	return func(o *options) {
		if token == "" {
			o.fail("WithToken: empty token")
			return
		}
		o.setTokens("WithToken", StaticToken(token))
	}
}

// WithTokenSource sends bearer tokens that src returns. The client caches a token
// until shortly before its expiry, and drops it at once when the server answers
// UNAUTHENTICATED with reason TOKEN_EXPIRED (retrying that unary call once).
func WithTokenSource(src TokenSource) Option {
	return func(o *options) { o.setTokens("WithTokenSource", src) }
}

// WithKeepalive makes the client ping the server after interval without activity on
// a connection with open streams, and drop the connection when a ping stays
// unanswered for timeout; a dropped connection fails its streams with UNAVAILABLE,
// which [Client.WatchUntilDone] resumes from. interval must be at least
// [MinKeepaliveTime]; interval 0 turns keepalive off. The default is
// [DefaultKeepaliveTime] and [DefaultKeepaliveTimeout].
func WithKeepalive(interval, timeout time.Duration) Option {
	return func(o *options) {
		switch {
		case interval == 0:
			o.keepalive = keepalive.ClientParameters{}
		case interval < MinKeepaliveTime:
			o.fail("WithKeepalive: interval %v is below the server's minimum ping interval %v", interval, MinKeepaliveTime)
		case timeout <= 0:
			o.fail("WithKeepalive: timeout %v must be positive", timeout)
		default:
			o.keepalive = keepalive.ClientParameters{Time: interval, Timeout: timeout}
		}
	}
}

// WithTimeout bounds every unary call whose context carries no deadline; 0 leaves
// such calls unbounded. Streaming calls (UploadAudio, WatchTask) are never given a
// default deadline: bound them with their context. The default is [DefaultTimeout].
func WithTimeout(timeout time.Duration) Option {
	return func(o *options) {
		if timeout < 0 {
			o.fail("WithTimeout: negative timeout %v", timeout)
			return
		}
		o.timeout = timeout
	}
}

// WithRetryPolicy replaces [DefaultRetryPolicy], the policy gRPC applies to the
// service's idempotent reads (see [RetryPolicy]).
func WithRetryPolicy(policy RetryPolicy) Option {
	return func(o *options) {
		if err := policy.validate(); err != nil {
			o.fail("WithRetryPolicy: %w", err)
			return
		}
		o.retry = policy
	}
}

// WithoutRetries turns off gRPC's automatic retries: every call is attempted once.
func WithoutRetries() Option {
	return func(o *options) { o.retry = RetryPolicy{MaxAttempts: 1} }
}

// WithUserAgent puts the application's name in front of gRPC's user agent.
func WithUserAgent(userAgent string) Option {
	return func(o *options) { o.userAgent = userAgent }
}

// WithDialOptions adds gRPC dial options, applied after the client's own; for
// example interceptors for tracing, or a custom dialer in tests.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}
