package meetingagent

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Registers the service descriptors that idempotentMethods reads.
	_ "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
)

// protoPackage is the package of the service's protos.
const protoPackage = "meeting_agent.v1"

// maxAttemptsCap is the most attempts gRPC makes of a call, whatever the policy says.
const maxAttemptsCap = 5

// A RetryPolicy tells gRPC how to retry the service's idempotent reads: every
// method named Get…, List…, Export… or Watch… (a WatchTask stream is retried only
// until its first message; after that, [Client.WatchUntilDone] resumes it).
// Mutations are never retried automatically: retry a CreateTask yourself, with the
// same request_id, so that the server returns the task it already created.
//
// The policy goes into the connection's gRPC service config; gRPC also throttles
// retries when most calls fail, so an outage does not multiply the load.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt: 1 turns retries off, gRPC caps it at 5.
	MaxAttempts int
	// InitialBackoff is the upper bound of the random delay before the first retry.
	InitialBackoff time.Duration
	// MaxBackoff caps the bound, which grows by BackoffMultiplier on every retry.
	MaxBackoff time.Duration
	// BackoffMultiplier is at least 1.
	BackoffMultiplier float64
	// RetryableCodes lists the status codes worth a retry; empty means UNAVAILABLE.
	RetryableCodes []codes.Code
}

// DefaultRetryPolicy returns the policy of [New]: up to 4 attempts of idempotent
// reads that failed with UNAVAILABLE, after random delays of at most 0.2 s, 0.4 s,
// 0.8 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:       4,
		InitialBackoff:    200 * time.Millisecond,
		MaxBackoff:        5 * time.Second,
		BackoffMultiplier: 2,
		RetryableCodes:    []codes.Code{codes.Unavailable},
	}
}

// validate reports what gRPC would reject or ignore in the policy.
func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 1 || p.MaxAttempts > maxAttemptsCap:
		return fmt.Errorf("MaxAttempts %d is not between 1 and %d", p.MaxAttempts, maxAttemptsCap)
	case p.MaxAttempts == 1:
		return nil
	case p.InitialBackoff <= 0 || p.MaxBackoff <= 0:
		return errors.New("InitialBackoff and MaxBackoff must be positive")
	case p.MaxBackoff < p.InitialBackoff:
		return fmt.Errorf("MaxBackoff %v is less than InitialBackoff %v", p.MaxBackoff, p.InitialBackoff)
	case p.BackoffMultiplier < 1:
		return fmt.Errorf("BackoffMultiplier %v is less than 1", p.BackoffMultiplier)
	}
	for _, c := range p.RetryableCodes {
		if c == codes.OK || c > codes.Unauthenticated {
			return fmt.Errorf("%v is not a retryable status code", c)
		}
	}
	return nil
}

// serviceConfig is the JSON form of a gRPC service config (gRFC A6), as much as the
// client uses.
type serviceConfig struct {
	MethodConfig    []methodConfig `json:"methodConfig,omitempty"`
	RetryThrottling *retryThrottle `json:"retryThrottling,omitempty"`
}

// methodConfig applies a retry policy to the methods it names.
type methodConfig struct {
	Name        []methodName `json:"name"`
	RetryPolicy *retryPolicy `json:"retryPolicy,omitempty"`
}

// methodName names one method of a service.
type methodName struct {
	Service string `json:"service"`
	Method  string `json:"method,omitempty"`
}

// retryPolicy is RetryPolicy in the service config's JSON form.
type retryPolicy struct {
	MaxAttempts          int      `json:"maxAttempts"`
	InitialBackoff       string   `json:"initialBackoff"`
	MaxBackoff           string   `json:"maxBackoff"`
	BackoffMultiplier    float64  `json:"backoffMultiplier"`
	RetryableStatusCodes []string `json:"retryableStatusCodes"`
}

// retryThrottle stops retries while too many calls fail (gRFC A6).
type retryThrottle struct {
	MaxTokens  int     `json:"maxTokens"`
	TokenRatio float64 `json:"tokenRatio"`
}

// serviceConfigJSON renders the policy as the connection's default service config.
func (p RetryPolicy) serviceConfigJSON() string {
	if p.MaxAttempts <= 1 {
		return "{}"
	}
	retryable := p.RetryableCodes
	if len(retryable) == 0 {
		retryable = []codes.Code{codes.Unavailable}
	}
	names := make([]string, 0, len(retryable))
	for _, c := range retryable {
		names = append(names, codeName(c))
	}
	cfg := serviceConfig{
		MethodConfig: []methodConfig{{
			Name: idempotentMethods(),
			RetryPolicy: &retryPolicy{
				MaxAttempts:          p.MaxAttempts,
				InitialBackoff:       durationJSON(p.InitialBackoff),
				MaxBackoff:           durationJSON(p.MaxBackoff),
				BackoffMultiplier:    p.BackoffMultiplier,
				RetryableStatusCodes: names,
			},
		}},
		// Stop retrying while more than half of the recent calls failed.
		RetryThrottling: &retryThrottle{MaxTokens: 10, TokenRatio: 0.1},
	}
	b, err := json.Marshal(cfg)
	if err != nil {
		panic(fmt.Sprintf("meetingagent: encoding the service config: %v", err)) // plain structs: cannot happen
	}
	return string(b)
}

// idempotentMethods lists the read methods of the service's protos, found in the
// registered descriptors so that new methods are covered as soon as the stubs are
// regenerated.
func idempotentMethods() []methodName {
	var names []methodName
	protoregistry.GlobalFiles.RangeFilesByPackage(protoPackage, func(fd protoreflect.FileDescriptor) bool {
		services := fd.Services()
		for i := range services.Len() {
			sd := services.Get(i)
			methods := sd.Methods()
			for j := range methods.Len() {
				md := methods.Get(j)
				if isIdempotentRead(md) {
					names = append(names, methodName{Service: string(sd.FullName()), Method: string(md.Name())})
				}
			}
		}
		return true
	})
	slices.SortFunc(names, func(a, b methodName) int {
		return strings.Compare(a.Service+"/"+a.Method, b.Service+"/"+b.Method)
	})
	return names
}

// isIdempotentRead reports whether a method only reads, by the AIP naming rules the
// service follows. A client-streaming method (UploadAudio) never is: its messages
// cannot be replayed.
func isIdempotentRead(md protoreflect.MethodDescriptor) bool {
	if md.IsStreamingClient() {
		return false
	}
	name := string(md.Name())
	for _, prefix := range []string{"Get", "List", "Export", "Watch"} {
		if strings.HasPrefix(name, prefix) {
			return true
		}
	}
	return false
}

// codeName is the name of a status code in service configs, e.g. "UNAVAILABLE".
func codeName(c codes.Code) string {
	switch c {
	case codes.OK:
		return "OK"
	case codes.Canceled:
		return "CANCELLED"
	}
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && r >= 'A' && r <= 'Z' {
			b.WriteByte('_')
		}
		b.WriteRune(r)
	}
	return strings.ToUpper(b.String())
}

// durationJSON renders a duration as a google.protobuf.Duration in JSON, e.g. "0.2s".
func durationJSON(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + "s"
}
