// Package gateway is the role gateway's synchronous call path and the call decisions it shares with the workflow path (error classes, retries and their waits, answer checks, masking, usage records).
package gateway
