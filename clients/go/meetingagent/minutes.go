package meetingagent

import (
	"context"
	"errors"
	"fmt"

	meetingagentv1 "github.com/meeting-agent/meeting-agent/clients/go/meeting_agent/v1"
)

// ErrNoMinutes is returned (wrapped) by [Client.ExportMinutes] for a task that has no
// finished minutes: it is still running, failed, or every generation failed.
var ErrNoMinutes = errors.New("no finished minutes")

// ExportMinutes renders the newest finished minutes of a task ("tasks/…") with
// MinutesService.ExportArtifact, as Markdown (MinutesFormat_MINUTES_FORMAT_MARKDOWN)
// or JSON; the document is in the response's Content, UTF-8 encoded.
//
// A task that succeeded has minutes; more appear when they are regenerated with
// another template (MinutesService.GenerateArtifact). Without finished minutes it
// returns an error wrapping [ErrNoMinutes].
func (c *Client) ExportMinutes(ctx context.Context, task string, format meetingagentv1.MinutesFormat) (
	*meetingagentv1.ExportArtifactResponse, error) {
	req := &meetingagentv1.ListArtifactsRequest{Parent: task}
	for {
		page, err := c.Minutes.ListArtifacts(ctx, req)
		if err != nil {
			return nil, err
		}
		// Newest first: the first finished one is the newest.
		for _, artifact := range page.GetArtifacts() {
			if artifact.GetState() == meetingagentv1.ArtifactState_ARTIFACT_STATE_SUCCEEDED {
				return c.Minutes.ExportArtifact(ctx, &meetingagentv1.ExportArtifactRequest{
					Name: artifact.GetName(), Format: format,
				})
			}
		}
		if page.GetNextPageToken() == "" {
			return nil, fmt.Errorf("meetingagent: %s: %w", task, ErrNoMinutes)
		}
		req.PageToken = page.GetNextPageToken()
	}
}
