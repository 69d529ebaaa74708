/* date.c — the one ISO 8601 parser: document dates at index time, date filters, freshness
 * origins and request-level dates all accept exactly the same strings.
 *
 * Grammar (a profile of ISO 8601 / RFC 3339 that real corpora use; no week or ordinal dates):
 *   YYYY[-MM[-DD[(T|t| )hh:mm[:ss[(.|,)f+]][Z|z|±hh[[:]mm]]]]]
 * Reduced precision ("2023", "2023-06") means the first instant of that year or month, as
 * scholarly metadata often has only a year. No zone means UTC. 24:00 (and 24:00:00) is the end
 * of the day, i.e. 00:00 of the next one; 24:01 is no time. A leap second (:60) is accepted and
 * counts as the next second, as POSIX time has no leap seconds. Fractions beyond milliseconds are
 * truncated.
 * Calendar: proleptic Gregorian, days_from_civil from H. Hinnant, "chrono-compatible low-level
 * date algorithms".
 * Workload: once per indexed document with a date, so the error text is built only on error.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/base.h"

#define MS_PER_DAY 86400000LL

static int64_t days_from_civil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m) {
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

// Reads exactly n digits at s[*i]; -1 if they are not all digits or the input ends.
static int digits(const char *s, size_t len, size_t *i, int n) {
    int v = 0;
    for (int k = 0; k < n; k++) {
        if (*i >= len || !isdigit((unsigned char)s[*i])) return -1;
        v = v * 10 + (s[(*i)++] - '0');
    }
    return v;
}

// The error: "<field>: '<value>': <why>", the value shown printable and cut at 44 bytes.
static int bad(fr_error *err, const char *field, const char *s, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int bad(fr_error *err, const char *field, const char *s, size_t len, const char *fmt, ...) {
    if (!err) return FR_EFORMAT;
    char shown[48], why[96];
    size_t sn = len < sizeof shown - 4 ? len : sizeof shown - 4;
    for (size_t k = 0; k < sn; k++) shown[k] = isprint((unsigned char)s[k]) ? s[k] : '?';
    strcpy(shown + sn, len > sn ? "..." : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return fr__err(err, FR_EFORMAT, "%s: '%s': %s", field ? field : "date", shown, why);
}

#define SYNTAX(s, len) \
    bad(err, field, s, len, "expected YYYY[-MM[-DD]] or YYYY-MM-DDThh:mm[:ss[.fff]][Z|+hh:mm]")

int fr_date_parse(const char *s, size_t len, const char *field, int64_t *ms, fr_error *err) {
    size_t i = 0;
    int y = digits(s, len, &i, 4), mo = 1, d = 1;
    if (y < 0) return SYNTAX(s, len);
    if (i < len) {
        if (s[i++] != '-' || (mo = digits(s, len, &i, 2)) < 0) return SYNTAX(s, len);
        if (i < len && (s[i++] != '-' || (d = digits(s, len, &i, 2)) < 0)) return SYNTAX(s, len);
    }
    if (mo < 1 || mo > 12) return bad(err, field, s, len, "month %d out of range", mo);
    if (d < 1 || d > days_in_month(y, mo))
        return bad(err, field, s, len, "day %d out of range for %04d-%02d", d, y, mo);
    int64_t t = days_from_civil(y, mo, d) * MS_PER_DAY;
    if (i < len) {
        // A time needs the full date before it.
        if (i != 10 || (s[i] != 'T' && s[i] != 't' && s[i] != ' ')) return SYNTAX(s, len);
        i++;
        int hh = digits(s, len, &i, 2), mi = -1, ss = 0, frac_ms = 0, nd = 0, frac_nz = 0;
        if (hh < 0 || i >= len || s[i++] != ':' || (mi = digits(s, len, &i, 2)) < 0)
            return SYNTAX(s, len);
        if (i < len && s[i] == ':') {
            i++;
            if ((ss = digits(s, len, &i, 2)) < 0) return SYNTAX(s, len);
            if (i < len && (s[i] == '.' || s[i] == ',')) {
                i++;
                for (int scale = 100; i < len && isdigit((unsigned char)s[i]); nd++, i++) {
                    frac_nz |= s[i] != '0';  // 24:00:00.0001 is past the end of the day
                    if (nd < 3) frac_ms += (s[i] - '0') * scale, scale /= 10;
                }
                if (nd == 0) return SYNTAX(s, len);
            }
        }
        if (hh > 24 || mi > 59 || ss > 60 || (hh == 24 && (mi || ss || frac_nz)))
            return bad(err, field, s, len, "time %02d:%02d:%02d out of range", hh, mi, ss);
        t += ((int64_t)hh * 3600 + mi * 60 + ss) * 1000 + frac_ms;
        if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
            i++;
        } else if (i < len && (s[i] == '+' || s[i] == '-')) {
            int sign = s[i++] == '-' ? -1 : 1, om = 0;
            int oh = digits(s, len, &i, 2);
            if (oh < 0) return SYNTAX(s, len);
            if (i < len) {
                if (s[i] == ':') i++;
                if ((om = digits(s, len, &i, 2)) < 0) return SYNTAX(s, len);
            }
            if (oh > 23 || om > 59)
                return bad(err, field, s, len, "zone offset %02d:%02d out of range", oh, om);
            t -= sign * ((int64_t)oh * 3600 + om * 60) * 1000;  // local = UTC + offset
        }
    }
    if (i != len) return SYNTAX(s, len);
    *ms = t;
    return 0;
}
