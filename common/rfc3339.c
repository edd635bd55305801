/*
 * rfc3339: RFC 3339 timestamps <-> int64 nanoseconds since the Unix epoch.
 * Pure arithmetic (Howard Hinnant's days_from_civil/civil_from_days): no
 * locale, no timegm, no time zone database.
 */
#include <stdbool.h>
#include <string.h>

#include "rfc3339.h"
#include "banned.h"

int64_t
rfc3339_days_from_civil(int64_t y, unsigned m, unsigned d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned
days_in_month(int64_t y, unsigned m)
{
	static const unsigned char dim[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};

	return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads n decimal digits; false if any is not a digit. */
static bool
digits(const char *s, size_t n, unsigned *out)
{
	unsigned v = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned c = (unsigned char)s[i] - '0';

		if (c > 9)
			return false;
		v = v * 10 + c;
	}
	*out = v;
	return true;
}

enum rfc3339_err
rfc3339_parse_why(const char *s, size_t len, int64_t *ns, const char **why)
{
	unsigned year, mon, day, hour, min, sec, oh = 0, om = 0;
	unsigned frac = 0, nfrac = 0;
	size_t i;
	int sign = 0;
	__int128 total;
	const char *dummy;

	if (!why)
		why = &dummy;
	*why = "syntax";
	if (len < 19 || !digits(s, 4, &year) || s[4] != '-' ||
	    !digits(s + 5, 2, &mon) || s[7] != '-' ||
	    !digits(s + 8, 2, &day) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2, &hour) || s[13] != ':' ||
	    !digits(s + 14, 2, &min) || s[16] != ':' ||
	    !digits(s + 17, 2, &sec)) {
		*why = "expected YYYY-MM-DDTHH:MM:SS";
		return RFC3339_ERR_SYNTAX;
	}
	i = 19;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (nfrac == 9) {
				*why = "more than 9 fractional digits";
				return RFC3339_ERR_SYNTAX;
			}
			frac = frac * 10 + (unsigned)(s[i] - '0');
			nfrac++;
			i++;
		}
		if (nfrac == 0) {
			*why = "no digits after '.'";
			return RFC3339_ERR_SYNTAX;
		}
		for (unsigned k = nfrac; k < 9; k++)
			frac *= 10;
	}
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		sign = s[i] == '+' ? 1 : -1;
		if (len - i < 6 || !digits(s + i + 1, 2, &oh) ||
		    s[i + 3] != ':' || !digits(s + i + 4, 2, &om)) {
			*why = "bad offset, expected +hh:mm";
			return RFC3339_ERR_SYNTAX;
		}
		i += 6;
	} else {
		*why = i < len ? "bad offset, expected Z or +hh:mm"
			       : "missing offset (Z or +hh:mm)";
		return RFC3339_ERR_SYNTAX;
	}
	if (i != len) {
		*why = "trailing characters";
		return RFC3339_ERR_SYNTAX;
	}
	if (mon < 1 || mon > 12) {
		*why = "month out of range";
		return RFC3339_ERR_DATE;
	}
	if (day < 1 || day > days_in_month(year, mon)) {
		*why = "day out of range";
		return RFC3339_ERR_DATE;
	}
	if (hour > 23) {
		*why = "hour out of range";
		return RFC3339_ERR_DATE;
	}
	if (min > 59) {
		*why = "minute out of range";
		return RFC3339_ERR_DATE;
	}
	if (sec > 59) {
		*why = "second out of range";
		return RFC3339_ERR_DATE;
	}
	if (oh > 23 || om > 59) {
		*why = "offset out of range";
		return RFC3339_ERR_DATE;
	}
	total = (__int128)rfc3339_days_from_civil(year, mon, day) * 86400 +
		hour * 3600 + min * 60 + sec;
	total -= (__int128)sign * (oh * 3600 + om * 60);
	total = total * 1000000000 + frac;
	if (total < INT64_MIN || total > INT64_MAX) {
		*why = "outside 1677-09-21..2262-04-11";
		return RFC3339_ERR_RANGE;
	}
	*ns = (int64_t)total;
	*why = "";
	return RFC3339_OK;
}

enum rfc3339_err
rfc3339_parse(const char *s, size_t len, int64_t *ns)
{
	return rfc3339_parse_why(s, len, ns, NULL);
}

static char *
put2(char *p, unsigned v)
{
	p[0] = (char)('0' + v / 10);
	p[1] = (char)('0' + v % 10);
	return p + 2;
}

size_t
rfc3339_format(int64_t ns, char *buf)
{
	int64_t secs = ns / 1000000000, rem = ns % 1000000000;
	int64_t days, sod, y;
	unsigned m, d;
	char *p = buf;

	if (rem < 0) {
		rem += 1000000000;
		secs--;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0) {
		sod += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	p = put2(p, (unsigned)(y / 100));
	p = put2(p, (unsigned)(y % 100));
	*p++ = '-';
	p = put2(p, m);
	*p++ = '-';
	p = put2(p, d);
	*p++ = 'T';
	p = put2(p, (unsigned)(sod / 3600));
	*p++ = ':';
	p = put2(p, (unsigned)(sod / 60 % 60));
	*p++ = ':';
	p = put2(p, (unsigned)(sod % 60));
	if (rem) {
		char f[9];
		int n = 9;

		for (int k = 8; k >= 0; k--) {
			f[k] = (char)('0' + rem % 10);
			rem /= 10;
		}
		while (f[n - 1] == '0')
			n--;
		*p++ = '.';
		memcpy(p, f, (size_t)n);
		p += n;
	}
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - buf);
}

const char *
rfc3339_strerror(enum rfc3339_err err)
{
	switch (err) {
	case RFC3339_OK:
		return "success";
	case RFC3339_ERR_SYNTAX:
		return "not an RFC 3339 time";
	case RFC3339_ERR_DATE:
		return "date or time field out of range";
	case RFC3339_ERR_RANGE:
		return "time outside the int64 nanosecond range";
	}
	return "unknown rfc3339 error";
}
