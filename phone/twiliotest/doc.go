// Package twiliotest runs a local stand-in for Twilio's Calls API and its webhooks for tests.
package twiliotest
