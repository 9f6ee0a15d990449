// Package phone places text-to-speech phone calls that ask the callee to press 1 to acknowledge.
package phone
