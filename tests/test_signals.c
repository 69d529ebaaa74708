/* test_signals.c — timeliness decays, step tables, authority, combination and ISO 8601 dates
 * against hand-computed values (epoch seconds cross-checked with GNU `date -u -d ... +%s`). */
#include "finerank.h"
#include "test.h"

#define DAY 86400000LL

static void test_dates(void) {
    fr_error err = {0};
    int64_t ms = 0;
    CHECK_EQ(fr_date_parse("2023-01-01", 10, "date", &ms, &err), 0);
    CHECK_EQ(ms, 1672531200000LL);
    const char *s = "2010-06-15T12:30:00+08:00";  // = 2010-06-15T04:30:00Z
    CHECK_EQ(fr_date_parse(s, strlen(s), "date", &ms, &err), 0);
    CHECK_EQ(ms, 1276576200000LL);
    s = "2010-06-15T04:30Z";
    CHECK_EQ(fr_date_parse(s, strlen(s), "date", &ms, &err), 0);
    CHECK_EQ(ms, 1276576200000LL);
    s = "2000-02-29T23:59:59.250";
    CHECK_EQ(fr_date_parse(s, strlen(s), "date", &ms, &err), 0);
    CHECK_EQ(ms, 951868799250LL);
    s = "1969-12-31";
    CHECK_EQ(fr_date_parse(s, strlen(s), "date", &ms, &err), 0);
    CHECK_EQ(ms, -86400000LL);
    s = "2024-02-29T23:00:00-01:00";  // crosses into March 1st UTC
    CHECK_EQ(fr_date_parse(s, strlen(s), "date", &ms, &err), 0);
    CHECK_EQ(ms, 1709251200000LL);

    // Errors name the field and say what is wrong.
    // Reduced precision, a space or lower-case separators, and 24:00 as the end of the day
    // are accepted (the index took them before the parsers were one).
    struct { const char *s; int64_t ms; } good[] = {
        {"2023", 1672531200000LL},                    // 2023-01-01
        {"2023-06", 1685577600000LL},                 // 2023-06-01
        {"2023-05-31T24:00", 1685577600000LL},        // = 2023-06-01T00:00Z
        {"2023-05-31t24:00:00z", 1685577600000LL},
        {"2023-06-01 02:00+02:00", 1685577600000LL},
        {"2023-06-01T02:00+0200", 1685577600000LL},
        {"2023-06-01T02:00+02", 1685577600000LL},
        {"2023-06-01T00:00:00,5", 1685577600500LL},
        {"2023-05-31T24:00:00.000", 1685577600000LL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ms = 0;
        CHECK_EQ(fr_date_parse(good[i].s, strlen(good[i].s), "date", &ms, &err), 0);
        CHECK_EQ(ms, good[i].ms);
    }
    const char *bad[] = {"2023-13-01", "2023-02-29", "2023-1-01", "2023-01-01T25:00",
                         "2023-05-31T24:59", "2023-05-31T24:00:01", "2023-05-31T24:00:00.1", "2023-05-31T24:00:00.0001",
                         "2023-06T10:00", "202", "2023-", "2023-06-", "2023-01-01T10:00+5",
                         "", "2023-01-01Tx", "2023-01-01T10:00:00Zjunk", "2023-01-01T10:00+24:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        CHECK_EQ(fr_date_parse(bad[i], strlen(bad[i]), "doc 7 date", &ms, &err), FR_EFORMAT);
        CHECK(strncmp(err.msg, "doc 7 date: ", 12) == 0);
    }
    fr_date_parse("2023-13-01", 10, "date", &ms, &err);
    CHECK(strstr(err.msg, "month 13") != NULL);
    fr_date_parse("2023-02-29", 10, "date", &ms, &err);
    CHECK(strstr(err.msg, "day 29") != NULL);

    CHECK_EQ(fr_duration_parse("30d", 3, NULL, &ms, &err), 0);
    CHECK_EQ(ms, 30 * DAY);
    CHECK_EQ(fr_duration_parse("2y", 2, NULL, &ms, &err), 0);
    CHECK_EQ(ms, 730 * DAY);
    CHECK_EQ(fr_duration_parse("1.5h", 4, NULL, &ms, &err), 0);
    CHECK_EQ(ms, 5400000);
    CHECK_EQ(fr_duration_parse("250ms", 5, NULL, &ms, &err), 0);
    CHECK_EQ(ms, 250);
    CHECK(fr_duration_parse("10", 2, "scale", &ms, &err) < 0);
    CHECK(strstr(err.msg, "scale") != NULL);
    CHECK(fr_duration_parse("10q", 3, "scale", &ms, &err) < 0);
    CHECK(strstr(err.msg, "unknown unit 'q'") != NULL);
}

static void test_decays(void) {
    fr_error err = {0};
    fr_freshness f;
    int64_t now = 1700000000000LL;
    // scale 10d, decay 0.5: at distance = scale every function gives exactly decay.
    CHECK_EQ(fr_freshness_parse("gauss:scale=10d", &f, &err), 0);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 10 * DAY, now), 0.5, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 20 * DAY, now), 0.0625, 1e-12);  // 0.5^(2²)
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 5 * DAY, now), 0.8408964152537145, 1e-12); // 0.5^¼
    CHECK_NEAR(fr_freshness_weight(&f, 1, now, now), 1.0, 1e-15);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now + 10 * DAY, now), 0.5, 1e-12);  // |v − origin|
    CHECK_NEAR(fr_freshness_weight(&f, 0, 0, now), 1.0, 0);  // missing: neutral default

    CHECK_EQ(fr_freshness_parse("exp:scale=10d", &f, &err), 0);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 10 * DAY, now), 0.5, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 20 * DAY, now), 0.25, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 5 * DAY, now), 0.7071067811865476, 1e-12);

    CHECK_EQ(fr_freshness_parse("linear:scale=10d", &f, &err), 0);  // s = 20d
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 5 * DAY, now), 0.75, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 10 * DAY, now), 0.5, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 20 * DAY, now), 0.0, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 40 * DAY, now), 0.0, 0);

    // offset shifts the start; decay changes the value at scale; missing is configurable.
    CHECK_EQ(fr_freshness_parse("exp:scale=10d,offset=5d,decay=0.25,missing=0.8", &f, &err), 0);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 5 * DAY, now), 1.0, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 10 * DAY, now), 0.5, 1e-12);   // 0.25^½
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 15 * DAY, now), 0.25, 1e-12);
    CHECK_NEAR(fr_freshness_weight(&f, 0, 0, now), 0.8, 0);

    // A fixed origin ignores now. 2023-01-01 vs 2010-01-01 with gauss scale 3y (1095 d):
    // distance 4748 d → 0.5^((4748/1095)²) = 0.5^18.8012... computed by hand below.
    CHECK_EQ(fr_freshness_parse("gauss:scale=3y,origin=2023-01-01", &f, &err), 0);
    CHECK(f.has_origin);
    CHECK_NEAR(fr_freshness_weight(&f, 1, 1672531200000LL, 0), 1.0, 1e-15);
    double r = 4748.0 / 1095.0;
    CHECK_NEAR(fr_freshness_weight(&f, 1, 1262304000000LL, 0), pow(0.5, r * r), 1e-12);
    CHECK(fr_freshness_weight(&f, 1, 1262304000000LL, 0) < 3e-6);

    // Step tables: first matching rule wins, else = default.
    CHECK_EQ(fr_freshness_parse("<=2y:1.2,>=10y:0.7", &f, &err), 0);
    CHECK_EQ(f.kind, FR_FRESH_STEP);
    CHECK_EQ(f.n_steps, 2);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 100 * DAY, now), 1.2, 0);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 730 * DAY, now), 1.2, 0);      // exactly 2y
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 731 * DAY, now), 1.0, 0);      // else
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 3650 * DAY, now), 0.7, 0);     // exactly 10y
    CHECK_NEAR(fr_freshness_weight(&f, 1, now + 30 * DAY, now), 1.2, 0);       // future: age 0
    CHECK_EQ(fr_freshness_parse("step:<1y:1.5,<5y:1.0,else=0.5,missing=0.9", &f, &err), 0);
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 365 * DAY, now), 1.0, 0);      // < is strict
    CHECK_NEAR(fr_freshness_weight(&f, 1, now - 6 * 365 * DAY, now), 0.5, 0);
    CHECK_NEAR(fr_freshness_weight(&f, 0, 0, now), 0.9, 0);

    char buf[256];
    fr_freshness_format(&f, buf, sizeof buf);
    CHECK_STR(buf, "<1y:1.5,<5y:1,else=0.5,missing=0.9");
    fr_freshness g;
    CHECK_EQ(fr_freshness_parse(buf, &g, &err), 0);  // round trip
    CHECK_EQ(g.n_steps, 2);
    CHECK_EQ(fr_freshness_parse("none", &f, &err), 0);
    CHECK_NEAR(fr_freshness_weight(&f, 1, 0, now), 1.0, 0);

    // Errors name the field.
    struct { const char *spec, *want; } bad[] = {
        {"gauss", "freshness scale"},
        {"gauss:scale=0d", "freshness scale"},
        {"exp:scale=10d,decay=1", "freshness decay"},
        {"exp:scale=10d,decay=0", "freshness decay"},
        {"exp:scale=10x", "freshness scale"},
        {"linear:scale=10d,origin=2023-02-30", "freshness origin"},
        {"linear:scale=10d,foo=1", "unknown item 'foo=1'"},
        {"<=2y", "missing ':WEIGHT'"},
        {"<=2y:abc", "freshness step weight"},
        {"recent", "expected none"},
        {"step:", "no rules"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err.msg[0] = 0;
        f = fr_freshness_default();
        CHECK(fr_freshness_parse(bad[i].spec, &f, &err) < 0);
        if (!strstr(err.msg, bad[i].want))
            fprintf(stderr, "spec '%s': message '%s' lacks '%s'\n", bad[i].spec, err.msg, bad[i].want);
        CHECK(strstr(err.msg, bad[i].want) != NULL);
        CHECK_EQ(f.kind, FR_FRESH_NONE);  // untouched on failure
    }
}

static void test_authority_combine(void) {
    fr_error err = {0};
    fr_authority a;
    CHECK_EQ(fr_authority_parse("guideline:1.0, self-media:0.7,default=0.9", &a, &err), 0);
    CHECK_EQ(a.n, 2);
    CHECK_NEAR(fr_authority_weight(&a, "guideline", 0, 0), 1.0, 0);
    CHECK_NEAR(fr_authority_weight(&a, "self-media", 1, 1.3), 0.7, 0);  // table beats the field
    CHECK_NEAR(fr_authority_weight(&a, "hospital", 1, 0.85), 0.85, 0);  // field when unlisted
    CHECK_NEAR(fr_authority_weight(&a, "hospital", 0, 0), 0.9, 0);      // else default
    CHECK_NEAR(fr_authority_weight(&a, NULL, 1, -2), 0.0, 0);           // negative → 0
    CHECK_EQ(fr_authority_parse("news:0.8,nofield", &a, &err), 0);
    CHECK_NEAR(fr_authority_weight(&a, "blog", 1, 0.3), 1.0, 0);
    CHECK_EQ(fr_authority_parse("none", &a, &err), 0);
    CHECK_NEAR(fr_authority_weight(&a, "blog", 1, 0.3), 1.0, 0);
    a = fr_authority_default();
    CHECK_NEAR(fr_authority_weight(&a, "blog", 1, 0.3), 0.3, 0);
    CHECK(fr_authority_parse("guideline", &a, &err) < 0);
    CHECK(strstr(err.msg, "expected SOURCE:COEF") != NULL);
    CHECK(fr_authority_parse("guideline:x", &a, &err) < 0);
    CHECK(strstr(err.msg, "authority 'guideline'") != NULL);
    CHECK(fr_authority_parse("default=-1", &a, &err) < 0);
    CHECK(strstr(err.msg, "authority default") != NULL);

    fr_combine c = fr_combine_default();
    // The user's example: final = semantic × timeliness × authority.
    CHECK_NEAR(fr_combine_score(&c, 0.8, 1.2, 0.7), 0.672, 1e-12);
    CHECK_EQ(fr_combine_parse("sum:semantic=0.5,timeliness=0.3,authority=0.2", &c, &err), 0);
    CHECK_NEAR(fr_combine_score(&c, 0.8, 1.2, 0.7), 0.4 + 0.36 + 0.14, 1e-12);
    CHECK_EQ(fr_combine_parse("sum", &c, &err), 0);
    CHECK_NEAR(fr_combine_score(&c, 1, 1, 1), 1.0, 1e-12);
    CHECK(fr_combine_parse("sum:novelty=1", &c, &err) < 0);
    CHECK(strstr(err.msg, "combine") != NULL);
    CHECK(fr_combine_parse("max", &c, &err) < 0);
}

int main(void) {
    test_dates();
    test_decays();
    test_authority_combine();
    return TEST_REPORT();
}
