// Package inputfile reads the files a user hands byoc-access (vendor specs, accounts files,
// parameters files, CloudFormation templates) and the output of the commands it runs, within
// fixed limits on size, nesting depth, number of YAML items and alias expansion. The limits
// are checked before the file is decoded, because a YAML decoder's memory grows with the
// expanded document (an alias bomb of a few hundred bytes) or with the square of the nesting
// depth, and no decoder can be stopped halfway. Text must be valid UTF-8: a stray byte would
// otherwise reach IAM as U+FFFD. A file that breaks a limit is an *Error naming the file, the
// place and the limit; callers turn it into their own usage error.
package inputfile
