/* password.c - unit tests of the password policy, scrypt MCF hashing and email normalisation. */
#include "email.h"
#include "password.h"
#include "tap.h"

int main(void)
{
	char why[128], hash[PASSWORD_HASH_MAX], out[EMAIL_MAX + 1];
	/* Cheap parameters keep the test fast; the format is the same. */
	struct password_params fast = { 1024, 8, 1 }, other = { 2048, 8, 1 };

	ok(password_check_policy("a fine passphrase", why, sizeof why) == 0, "a long passphrase is accepted");
	ok(password_check_policy("short7!", why, sizeof why) != 0, "7 bytes refused");
	is_str(why, "must be at least 8 bytes", "saying why");
	char long_pw[130];
	memset(long_pw, 'x', 129);
	long_pw[129] = '\0';
	ok(password_check_policy(long_pw, why, sizeof why) != 0, "129 bytes refused");
	long_pw[128] = '\0';
	ok(password_check_policy(long_pw, why, sizeof why) == 0, "128 bytes accepted");
	ok(password_check_policy("password1", why, sizeof why) != 0, "a common password refused");
	ok(password_check_policy("PassWord1", why, sizeof why) != 0, "whatever its case");
	is_str(why, "is too common", "saying why");

	ok(password_hash("correct horse", &fast, hash) == 0, "hashing works");
	ok(strncmp(hash, "$s1$0a0801$", 11) == 0, "MCF carries N=2^10, r=8, p=1");
	int outdated = -1;
	is_int(password_verify(hash, "correct horse", &fast, &outdated), 1, "the right password verifies");
	is_int(outdated, 0, "with current parameters");
	is_int(password_verify(hash, "correct horsf", &fast, &outdated), 0, "a wrong one does not");
	is_int(password_verify(hash, "correct horse", &other, &outdated), 1, "older parameters still verify");
	is_int(outdated, 1, "and are reported outdated");
	is_int(password_verify("$s1$zz$x$y", "x", &fast, &outdated), -1, "a malformed MCF is an error");
	is_int(password_verify("plain", "x", &fast, &outdated), -1, "a non-MCF string is an error");
	is_int(password_default_params.p, 1, "the default p is 1, not libscrypt's 16");
	is_int(password_default_params.n, 16384, "the default N is 16384");

	ok(email_normalize("  Ann.Lee@Example.COM ", out) == 0, "email normalised");
	is_str(out, "Ann.Lee@example.com", "trimmed, domain lower-cased, local part kept");
	ok(email_normalize("a@b", out) != 0, "a domain without a dot refused");
	ok(email_normalize("a..b@example.com", out) != 0, "consecutive dots refused");
	ok(email_normalize(".a@example.com", out) != 0, "a leading dot refused");
	ok(email_normalize("a@-example.com", out) != 0, "a label starting with a hyphen refused");
	ok(email_normalize("a b@example.com", out) != 0, "a space refused");
	ok(email_normalize("a@exa mple.com", out) != 0, "a space in the domain refused");
	ok(email_normalize("a\r\n@example.com", out) != 0, "CR LF refused");
	ok(email_normalize("\xc3\xa9@example.com", out) != 0, "non-ASCII refused (the outbox needs ASCII)");
	ok(email_normalize("no-at-sign.example.com", out) != 0, "no @ refused");
	ok(email_normalize("a+tag@sub.example.co.uk", out) == 0, "plus tags and subdomains accepted");
	char big[300];
	memset(big, 'a', 250);
	strcpy(big + 250, "@example.com");
	ok(email_normalize(big, out) != 0, "over 254 bytes refused");
	return done_testing();
}
