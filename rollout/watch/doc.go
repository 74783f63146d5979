// Package watch keeps an organization onboarded as it changes: a worker consumes an SQS queue
// fed by an EventBridge rule on AWS Organizations events (CreateAccountResult, AcceptHandshake,
// InviteAccountToOrganization, MoveAccount, RemoveAccountFromOrganization, CloseAccount) and,
// for each account an event names, asks a Handler to bring that one account in line with the
// filters as the organization says they stand now (onboard, offboard, or nothing).
//
// SQS hands the work out, so any number of workers on any number of machines can share one
// queue: a received message is hidden from the others while its account is worked on (the
// worker extends its visibility as it goes), a failure makes it visible again after a backoff,
// and the queue's redrive policy moves it to the dead-letter queue after maxReceiveCount
// receives. On stop the worker receives nothing more, lets the accounts in hand finish within a
// grace period, and releases (visibility 0) the messages of those that did not. A periodic
// full reconcile, taken by one worker at a time through a lock in the state backend, catches
// what an event never said. Package setup (rollout/watch/setup) creates the queue and rule.
package watch
