package meetingagent_test

// The README's Go section shows parts of these examples; TestReadmeExample checks
// that they are the same.

import (
	"context"
	"log"
	"time"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"github.com/meeting-agent/meeting-agent/clients/go/meetingagent"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// fetchToken stands for a call to the company's identity service.
func fetchToken(context.Context) (jwt string, expiry time.Time, err error) {
	return "eyJ…", time.Now().Add(time.Hour), nil
}

// ExampleWithTokenSource connects with TLS and tokens that are refreshed before
// they expire.
func ExampleWithTokenSource() {
	client, err := meetingagent.New("meeting-agent.internal:443", // TLS, verified with the system's roots
		meetingagent.WithTokenSource(func(ctx context.Context) (meetingagent.Token, error) {
			jwt, expiry, err := fetchToken(ctx) // your identity service
			return meetingagent.Token{Value: jwt, Expiry: expiry}, err
		}))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
}

// ExampleErrorReason branches on the status code and the reason of an error.
func ExampleErrorReason() {
	ctx := context.Background()
	client, err := meetingagent.New("127.0.0.1:50051", meetingagent.WithInsecure(), meetingagent.WithToken("…"))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	req := &meetingagentv1.CreateTaskRequest{RequestId: "7f1c9b2e", Task: &meetingagentv1.Task{
		AudioSources: []*meetingagentv1.AudioSource{meetingagent.UploadSource("uploads/…")},
	}}

	resp, err := client.Tasks.CreateTask(ctx, req)
	switch code := status.Code(err); {
	case err == nil:
		log.Printf("created %s", resp.GetTask().GetName())
	case code == codes.InvalidArgument:
		for _, v := range meetingagent.FieldViolations(err) {
			log.Printf("invalid %s: %s", v.GetField(), v.GetDescription())
		}
	case meetingagent.ErrorReason(err) == meetingagent.ReasonRequestIDReused:
		log.Print("this request_id was used for a different task: make a new one")
	case code == codes.Unavailable:
		delay, _ := meetingagent.RetryDelay(err) // the server's advice, if it gave one
		log.Printf("retry the same request, with the same request_id, in %v or later", delay)
	default:
		log.Printf("%v (code %v, reason %s)", err, code, meetingagent.ErrorReason(err))
	}
}
