// Package params gives each account of a rollout its own values of the vendor's parameters, as
// CloudFormation StackSets' per-instance parameter overrides do: Datadog issues a distinct
// external ID for each AWS account, Databricks' restricted policy names each account's VPC. In the
// chain spec → grant → component → stack → account it sits between the spec and the grant: the
// values it finds per account are what the spec resolves into that account's grant. Resolve is
// the entry point, given the spec, the fleet-wide values, the accounts and the Sources (LoadFile,
// ParseTag, ParseCommand read the flags).
//
// A value comes from, highest precedence first:
//
//  1. a parameters file keyed by account ID (--params-file, YAML, JSON or CSV);
//  2. a param:NAME column (CSV) or params: map (YAML) of the accounts file (--accounts-file);
//  3. an Organizations tag of the account (--param-from-tag NAME=TAGKEY);
//  4. a command run once for the account, with the account ID as its last argument, whose
//     trimmed stdout is the value (--param-from-command NAME=CMD);
//
// then the fleet-wide --param NAME=VALUE, then the spec's default. Files are override tables:
// an account they do not list takes the next source. A tag or command source is asked for
// every account: an account without the tag falls through to a command for the same
// parameter or to a fleet-wide --param, and is an error when neither exists, so that a
// missing tag never silently deploys the spec's default (an empty external ID is no
// external ID at all).
//
// Values known up front (files, tags) are validated against the spec for every account
// before any command runs or anything is deployed; command values are validated as they
// arrive, and a failed or invalid command fails that account only.
package params
