package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"github.com/vigil-ir/vigil"
)

// testMFA: a TOTP factor enrolled and confirmed, then asked for after the
// password; codes work once; recovery codes work once; wrong codes are
// throttled; the policy makes admins enrol; an admin resets factors
// (issue 21).
func testMFA(t *testing.T, open Opener) {
	t.Run("EnrolAndSignIn", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
		_, u := MustCreateUser(t, s, vigil.RoleResponder)
		_, secret, err := s.Auth.Login(context.Background(), u.Username, "correct horse battery staple")
		if err != nil {
			t.Fatal(err)
		}
		a, _, err := s.Auth.AuthenticateSession(context.Background(), secret)
		if err != nil || a == nil {
			t.Fatalf("before enrolling: %v, %v", a, err)
		}
		me := vigil.NewContextWithActor(context.Background(), a)
		e, err := s.MFA.BeginTOTP(me)
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.MFA.ConfirmTOTP(me, "000000")
		wantField(t, err, "code")
		code, _ := totp.GenerateCode(e.Secret, c.now())
		codes, err := s.MFA.ConfirmTOTP(me, code)
		if err != nil {
			t.Fatal(err)
		}
		if len(codes) != vigil.RecoveryCodeCount {
			t.Fatalf("%d recovery codes", len(codes))
		}
		st, _ := s.MFA.MFAStatus(me, 0)
		if !st.TOTP || st.RecoveryCodes != vigil.RecoveryCodeCount {
			t.Errorf("status %+v", st)
		}
		_, err = s.MFA.BeginTOTP(me)
		wantCode(t, err, vigil.ECONFLICT)

		// The password alone: a session waiting, with no actor.
		c.add(time.Minute)
		sess, pending, err := s.Auth.Login(context.Background(), u.Username, "correct horse battery staple")
		if err != nil || sess.Stage != vigil.StageMFA {
			t.Fatalf("login: %+v, %v", sess, err)
		}
		if a, _, err := s.Auth.AuthenticateSession(context.Background(), pending); err != nil || a != nil {
			t.Fatalf("a session waiting for its second factor acts as %v (%v)", a, err)
		}
		_, _, err = s.Auth.VerifySecondFactor(context.Background(), pending, "123456")
		wantField(t, err, "code")
		code, _ = totp.GenerateCode(e.Secret, c.now())
		_, full, err := s.Auth.VerifySecondFactor(context.Background(), pending, code)
		if err != nil {
			t.Fatal(err)
		}
		if a, _, err := s.Auth.AuthenticateSession(context.Background(), full); err != nil || a == nil || a.UserID != u.ID {
			t.Fatalf("after the second factor: %v, %v", a, err)
		}
		if _, _, err := s.Auth.AuthenticateSession(context.Background(), pending); err == nil {
			t.Error("the half-signed-in cookie still works")
		}
		// The same code again, in another sign-in: refused (used).
		_, pending, _ = s.Auth.Login(context.Background(), u.Username, "correct horse battery staple")
		_, _, err = s.Auth.VerifySecondFactor(context.Background(), pending, code)
		wantField(t, err, "code")
		// A recovery code works once.
		if _, _, err := s.Auth.VerifySecondFactor(context.Background(), pending, codes[3]); err != nil {
			t.Fatalf("recovery code: %v", err)
		}
		_, pending, _ = s.Auth.Login(context.Background(), u.Username, "correct horse battery staple")
		_, _, err = s.Auth.VerifySecondFactor(context.Background(), pending, codes[3])
		wantField(t, err, "code")
		// Wrong codes are throttled like passwords.
		for range vigil.MaxFailedLogins {
			s.Auth.VerifySecondFactor(context.Background(), pending, "999999")
		}
		code, _ = totp.GenerateCode(e.Secret, c.now().Add(30*time.Second))
		_, _, err = s.Auth.VerifySecondFactor(context.Background(), pending, code)
		wantCode(t, err, vigil.ETOOMANY)
	})
	t.Run("PolicyAndReset", func(t *testing.T) {
		s := open(t)
		c := newClock(s, time.Date(2026, 8, 1, 9, 0, 0, 0, time.UTC))
		admin, adm := MustCreateUser(t, s, vigil.RoleAdmin)
		_, resp := MustCreateUser(t, s, vigil.RoleResponder)
		respCtx, _ := MustCreateUser(t, s, vigil.RoleResponder)
		wantCode(t, s.MFA.SetMFAPolicy(respCtx, vigil.MFAAll), vigil.EFORBIDDEN)
		wantField(t, s.MFA.SetMFAPolicy(admin, "sometimes"), "mfa_policy")
		if err := s.MFA.SetMFAPolicy(admin, vigil.MFAAdmins); err != nil {
			t.Fatal(err)
		}
		sess, secret, err := s.Auth.Login(context.Background(), adm.Username, "correct horse battery staple")
		if err != nil || sess.Stage != vigil.StageEnrol {
			t.Fatalf("an admin under the admins policy: %+v, %v", sess, err)
		}
		a, _, _ := s.Auth.AuthenticateSession(context.Background(), secret)
		if a == nil || !a.MustEnrol {
			t.Fatalf("actor %+v must enrol", a)
		}
		if sess, _, _ := s.Auth.Login(context.Background(), resp.Username, "correct horse battery staple"); sess.Stage != vigil.StageSignedIn {
			t.Errorf("a responder under the admins policy: stage %q", sess.Stage)
		}
		me := vigil.NewContextWithActor(context.Background(), a)
		e, err := s.MFA.BeginTOTP(me)
		if err != nil {
			t.Fatal(err)
		}
		code, _ := totp.GenerateCode(e.Secret, c.now())
		if _, err := s.MFA.ConfirmTOTP(me, code); err != nil {
			t.Fatal(err)
		}
		if a, _, _ := s.Auth.AuthenticateSession(context.Background(), secret); a == nil || a.MustEnrol {
			t.Errorf("after enrolling, the session still must enrol: %+v", a)
		}
		wantCode(t, s.MFA.ResetFactors(respCtx, adm.ID), vigil.EFORBIDDEN)
		if err := s.MFA.ResetFactors(admin, adm.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Auth.AuthenticateSession(context.Background(), secret); err == nil {
			t.Error("a session outlived the reset of its factors")
		}
		evs, _ := s.Audit.FindAuditEvents(SystemContext(t), vigil.AuditFilter{Action: "mfa.reset", Limit: 5})
		if len(evs) != 1 {
			t.Errorf("%d mfa.reset events", len(evs))
		}
	})
}
