package meetingagent_test

import (
	"context"
	"fmt"
	"log"
	"os"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
	"github.com/meeting-agent/meeting-agent/clients/go/meetingagent"
)

// Example uploads the recording named on the command line, creates a task, shows
// its progress and prints its minutes as Markdown. The README shows it as a main
// package; TestReadmeExample keeps the two the same.
func Example() {
	ctx := context.Background()
	client, err := meetingagent.New(os.Getenv("MEETING_AGENT_ADDRESS"),
		meetingagent.WithInsecure(), meetingagent.WithToken(os.Getenv("MEETING_AGENT_TOKEN")))
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	upload, err := client.UploadFile(ctx, os.Args[1], nil)
	if err != nil {
		log.Fatal(err)
	}
	created, err := client.Tasks.CreateTask(ctx, &meetingagentv1.CreateTaskRequest{Task: &meetingagentv1.Task{
		DisplayName:  "Weekly sync",
		AudioSources: []*meetingagentv1.AudioSource{meetingagent.UploadSource(upload.GetName())},
	}})
	if err != nil {
		log.Fatalf("%v (reason %s)", err, meetingagent.ErrorReason(err))
	}
	task, err := client.WatchUntilDone(ctx, created.GetTask().GetName(), &meetingagent.WatchOptions{
		OnEvent: func(e *meetingagentv1.TaskEvent) { log.Printf("%3d%% %s", e.GetProgressPercent(), e.GetMessage()) },
	})
	if err == nil {
		err = meetingagent.TaskError(task) // FAILED or CANCELLED
	}
	if err != nil {
		log.Fatalf("%v (reason %s)", err, meetingagent.ErrorReason(err))
	}
	minutes, err := client.ExportMinutes(ctx, task.GetName(), meetingagentv1.MinutesFormat_MINUTES_FORMAT_MARKDOWN)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(string(minutes.GetContent()))
}
