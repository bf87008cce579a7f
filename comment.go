package vigil

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Comment is discussion among responders on an incident or one of its
// tasks. Unlike notes, comments are conversation, not the record of events;
// their authors may edit them.
type Comment struct {
	ID         int64     `json:"id"`
	IncidentID int64     `json:"incident_id"`
	TaskID     *int64    `json:"task_id"`
	AuthorID   *int64    `json:"author_id"`
	AuthorName string    `json:"author_name"`
	Body       string    `json:"body"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	Version    int       `json:"version"`
}

// MaxCommentLen bounds a comment.
const MaxCommentLen = 10000

// ValidateCommentBody trims and checks a comment body.
func ValidateCommentBody(body string) (string, error) {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return "", Invalid("body", "Write something in the comment.")
	case utf8.RuneCountInString(body) > MaxCommentLen || !utf8.ValidString(body):
		return "", Invalid("body", "A comment must be valid text of at most %d characters.", MaxCommentLen)
	}
	return body, nil
}

// CommentService manages comments. Writing needs PermIncidentEdit; editing
// is for the author only.
type CommentService interface {
	// FindComments lists comments on an incident, or on one task when taskID
	// is not nil, oldest first.
	FindComments(ctx context.Context, incidentID int64, taskID *int64) ([]*Comment, error)
	CreateComment(ctx context.Context, c *Comment) error
	// UpdateComment changes the body. EFORBIDDEN unless the actor wrote it.
	UpdateComment(ctx context.Context, id int64, body string, version int) (*Comment, error)
}
