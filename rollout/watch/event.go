package watch

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/byoc-access/byoc-access/internal/validate"
)

// EventNames are the Organizations API calls and service events, recorded by CloudTrail, that
// can change whether an account is a target. The EventBridge rule of package setup matches
// exactly these.
var EventNames = []string{
	"CreateAccountResult",
	"AcceptHandshake",
	"InviteAccountToOrganization",
	"MoveAccount",
	"RemoveAccountFromOrganization",
	"CloseAccount",
}

// Event is what the worker takes from one queue message: the EventBridge envelope of a
// CloudTrail record of an Organizations call.
type Event struct {
	// ID is EventBridge's event ID, for logs.
	ID string `json:"id"`
	// Name is the CloudTrail event name (detail.eventName).
	Name string `json:"name"`
	// Time is when the event happened, per EventBridge.
	Time time.Time `json:"time"`
	// Accounts are the accounts the event is about. The event says nothing else the worker
	// trusts: each account's OU, tags and state are read from Organizations again.
	Accounts []string `json:"accounts"`
	// Ignore says why the event needs no work (not one of EventNames, or an account creation
	// that did not succeed); empty for events to act on.
	Ignore string `json:"ignore,omitempty"`
}

// EventError is a message that is not an Organizations event the worker can read: it can never
// succeed, so it goes the way of any failure, to the dead-letter queue after the retries.
type EventError struct {
	// Problem says what is wrong with the message.
	Problem string
}

func (e *EventError) Error() string { return "unreadable event: " + e.Problem }

// envelope is the part of an EventBridge event of a CloudTrail record the worker reads.
type envelope struct {
	ID         string    `json:"id"`
	Source     string    `json:"source"`
	DetailType string    `json:"detail-type"`
	Time       time.Time `json:"time"`
	Detail     struct {
		EventName           string `json:"eventName"`
		ErrorCode           string `json:"errorCode"`
		RequestParameters   params `json:"requestParameters"`
		ResponseElements    params `json:"responseElements"`
		ServiceEventDetails struct {
			CreateAccountStatus struct {
				State     string `json:"state"`
				AccountID string `json:"accountId"`
			} `json:"createAccountStatus"`
		} `json:"serviceEventDetails"`
	} `json:"detail"`
}

// params holds the request parameters and response elements of the calls the worker reads.
type params struct {
	AccountID string `json:"accountId"`
	Target    struct {
		ID   string `json:"id"`
		Type string `json:"type"`
	} `json:"target"`
	Handshake struct {
		Parties []struct {
			ID   string `json:"id"`
			Type string `json:"type"`
		} `json:"parties"`
	} `json:"handshake"`
}

// ParseEvent reads a queue message body.
func ParseEvent(body []byte) (Event, error) {
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		return Event{}, &EventError{Problem: fmt.Sprintf("not JSON: %v", err)}
	}
	if env.Source != "aws.organizations" {
		return Event{}, &EventError{Problem: fmt.Sprintf("source %q: want aws.organizations (is the queue fed by the rule of `rollout watch setup`?)", env.Source)}
	}
	d := env.Detail
	ev := Event{ID: env.ID, Name: d.EventName, Time: env.Time, Accounts: []string{}}
	switch {
	case !slices.Contains(EventNames, d.EventName):
		ev.Ignore = "event " + d.EventName + " does not change which accounts are targets"
		return ev, nil
	case d.ErrorCode != "":
		ev.Ignore = "the call failed (" + d.ErrorCode + ")"
		return ev, nil
	}
	var ids []string
	switch d.EventName {
	case "CreateAccountResult":
		st := d.ServiceEventDetails.CreateAccountStatus
		if st.State != "SUCCEEDED" {
			ev.Ignore = "account creation is " + st.State
			return ev, nil
		}
		ids = append(ids, st.AccountID)
	case "MoveAccount", "RemoveAccountFromOrganization", "CloseAccount":
		ids = append(ids, d.RequestParameters.AccountID)
	case "InviteAccountToOrganization", "AcceptHandshake":
		if t := d.RequestParameters.Target; t.Type == "ACCOUNT" {
			ids = append(ids, t.ID)
		}
		for _, p := range d.ResponseElements.Handshake.Parties {
			if p.Type == "ACCOUNT" {
				ids = append(ids, p.ID)
			}
		}
	}
	for _, id := range ids {
		if validate.AccountID(id) == nil && !slices.Contains(ev.Accounts, id) {
			ev.Accounts = append(ev.Accounts, id)
		}
	}
	if len(ev.Accounts) == 0 {
		return Event{}, &EventError{Problem: fmt.Sprintf("%s event %s names no account ID", d.EventName, env.ID)}
	}
	return ev, nil
}
