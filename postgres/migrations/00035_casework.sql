-- Case work (issue 25): a task may be a follow-up action, tracked to done
-- on its own after its incident closes (a review's action items, and open
-- tasks carried over when an incident is closed). Other tasks of a closed
-- incident leave "My tasks" and the overdue list. 00032 to 00034 are
-- other work's.

-- +goose Up
ALTER TABLE tasks ADD COLUMN follow_up boolean NOT NULL DEFAULT false;
UPDATE tasks SET follow_up = true WHERE id IN (SELECT task_id FROM review_actions);

-- +goose Down
ALTER TABLE tasks DROP COLUMN follow_up;
