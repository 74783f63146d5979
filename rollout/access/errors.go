package access

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
)

// AssumeRoleError is a failure to get into an account, so reports can tell access problems
// from deploy failures and name the role that was tried.
type AssumeRoleError struct {
	// AccountID is the account that could not be entered.
	AccountID string
	// RoleARN is the role that was tried there.
	RoleARN string
	// Err is the SDK's error, kept for errors.As (smithy.APIError) and the predicates.
	Err error
}

// Error says which account, which role, and AWS's reason in one line.
func (e *AssumeRoleError) Error() string {
	return fmt.Sprintf("account %s: assume role %s: %s", e.AccountID, e.RoleARN, Reason(e.Err))
}

// Unwrap exposes the SDK's error, so IsAccessDenied and IsThrottled see through.
func (e *AssumeRoleError) Unwrap() error { return e.Err }

// stepError says which step of getting into an account failed, when it was not AssumeRole.
type stepError struct {
	step string
	err  error
}

func (e *stepError) Error() string { return e.step + ": " + e.err.Error() }
func (e *stepError) Unwrap() error { return e.err }

// Reason is the one line of an AWS error a person needs: the API's code and message, without
// the SDK's request IDs and retry chatter.
func Reason(err error) string {
	if s, ok := err.(*stepError); ok {
		return s.step + ": " + Reason(s.err)
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode() + ": " + api.ErrorMessage()
	}
	return err.Error()
}

// IsAssumeRoleError reports whether err is a failure to get into an account.
func IsAssumeRoleError(err error) bool {
	var e *AssumeRoleError
	return errors.As(err, &e)
}

// IsAccessDenied reports whether AWS refused the call for lack of permission (or refused the
// credentials), which retrying will not fix.
func IsAccessDenied(err error) bool {
	return hasCode(err, "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "InvalidClientTokenId")
}

// IsThrottled reports whether AWS throttled the call even after the SDK's retries: the error
// codes are the ones the SDK's retryer treats as throttling.
func IsThrottled(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	_, ok := retry.DefaultThrottleErrorCodes[api.ErrorCode()]
	return ok
}

func hasCode(err error, codes ...string) bool {
	var api smithy.APIError
	if !errors.As(err, &api) {
		return false
	}
	for _, c := range codes {
		if api.ErrorCode() == c {
			return true
		}
	}
	return false
}
