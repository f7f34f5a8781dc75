/* embed_text.c - unit tests of embed_vector_text(): every float reads back
 * exactly (strtof, as pgvector's vector_in does), in pgvector's form. */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "embed.h"
#include "tap.h"

/* Formats v alone and reads it back; 1 when it is the same float and the
 * text is a number of at most 15 characters. */
static int round_trips(float v)
{
	char buf[EMBED_TEXT_MAX(1)];
	size_t len = embed_vector_text(&v, 1, buf);
	if (len < 3 || len - 2 > 15 || buf[0] != '[' || buf[len - 1] != ']' || buf[len] != '\0')
		return 0;
	buf[len - 1] = '\0';
	char *end;
	float back = strtof(buf + 1, &end);
	return *end == '\0' && memcmp(&back, &v, sizeof v) == 0;
}

int main(void)
{
	static const float edges[] = { 0.0f, 1e-3f, -1e-3f, 0.00099999f, 0.0010000001f, 0.99999994f, -0.99999994f,
				       1.0f, -1.0f, 0.5f, 0.1f, 1e-7f, -3.4e-12f, FLT_MIN, FLT_MAX, -FLT_MAX,
				       FLT_TRUE_MIN, 123456.789f, 0.052083332f };
	int all = 1;
	for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
		if (!round_trips(edges[i])) {
			printf("# does not round-trip: %.9g\n", (double)edges[i]);
			all = 0;
		}
	ok(all, "edge values read back as the same float");

	/* Every float from 0.001 to 1 has its own bit pattern in order: walk a
	 * large sample of them, both signs, plus random bit patterns anywhere. */
	uint32_t lo, hi;
	float f = 1e-3f;
	memcpy(&lo, &f, sizeof lo);
	f = 1.0f;
	memcpy(&hi, &f, sizeof hi);
	long bad = 0, tried = 0;
	for (uint32_t b = lo; b < hi; b += 29) {
		memcpy(&f, &b, sizeof f);
		bad += !round_trips(f) + !round_trips(-f);
		tried += 2;
	}
	char name[120];
	snprintf(name, sizeof name, "%ld floats of 0.001 <= |f| < 1 read back exactly (%ld wrong)", tried, bad);
	ok(bad == 0, name);
	srandom(7);
	bad = 0;
	for (int i = 0; i < 200000; i++) {
		uint32_t b = (uint32_t)random() ^ ((uint32_t)random() << 16);
		memcpy(&f, &b, sizeof f);
		if (isfinite(f))
			bad += !round_trips(f);
	}
	snprintf(name, sizeof name, "random finite floats read back exactly (%ld wrong)", bad);
	ok(bad == 0, name);

	float v[4] = { 0.25f, -0.0625f, 0.0f, 0.333333343f };
	char buf[EMBED_TEXT_MAX(4)];
	size_t len = embed_vector_text(v, 4, buf);
	is_str(buf, "[0.25,-0.0625,0,0.333333343267]", "pgvector's text form, trailing zeros dropped");
	ok(len == strlen(buf), "the length returned");
	return done_testing();
}
