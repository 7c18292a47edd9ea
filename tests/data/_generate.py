"""Regenerates the parquet/CSV test data in tests/data (people.csv is hand-written).

Run from anywhere with a Python that has duckdb:  ~/peers-venv/bin/python tests/data/_generate.py
(Names starting with '_' are not registered as tables.)
"""
import duckdb, os
os.chdir(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
c = duckdb.connect()
c.execute("""
CREATE TABLE nums AS SELECT * FROM (VALUES
 (1,  10,   10000000000::BIGINT,  1.5::DOUBLE,   12.34::DECIMAL(10,2), 'apple',     DATE '2024-01-15', TIMESTAMP '2024-01-15 08:30:00', true,  'a'),
 (2,  -3,   -5::BIGINT,           -2.25::DOUBLE, -0.50::DECIMAL(10,2), 'Banana',    DATE '2024-02-29', TIMESTAMP '2024-02-29 23:59:59', false, 'b'),
 (3,  NULL, 7::BIGINT,            NULL,          100.00::DECIMAL(10,2),'',          DATE '2023-12-31', TIMESTAMP '2023-12-31 12:00:00', NULL,  'a'),
 (4,  0,    NULL,                 0.0::DOUBLE,   NULL,                 NULL,        NULL,              NULL,                              true,  NULL),
 (5,  7,    123456789012::BIGINT, 3.75::DOUBLE,  0.01::DECIMAL(10,2),  '  padded  ',DATE '2020-06-01', TIMESTAMP '2020-06-01 00:00:00', false, 'c'),
 (6,  7,    42::BIGINT,           100.0::DOUBLE, 99999.99::DECIMAL(10,2),'cherry pie',DATE '2024-03-01', TIMESTAMP '2024-03-01 17:45:30.250', true, 'b'),
 (7,  -20,  0::BIGINT,            -0.125::DOUBLE, -123.45::DECIMAL(10,2),'a_b%c',   DATE '1999-12-31', TIMESTAMP '1999-12-31 23:00:00', true,  'c'),
 (8,  15,   15::BIGINT,           2.5::DOUBLE,   7.00::DECIMAL(10,2),  'APPLE',     DATE '2024-01-01', TIMESTAMP '2024-01-01 00:00:01', false, 'a'),
 (9,  NULL, NULL,                 NULL,          NULL,                 'x,y,z',     DATE '2024-07-04', TIMESTAMP '2024-07-04 09:15:00', NULL,  NULL),
 (10, 3,    -100::BIGINT,         1e10::DOUBLE,  3.33::DECIMAL(10,2),  'Straße',    DATE '2000-02-29', TIMESTAMP '2000-02-29 06:06:06', true,  'b')
) t(id, i, b, f, d, s, dt, ts, flag, grp)
""")
c.execute("CREATE TABLE n2 AS SELECT id::INTEGER id, i::INTEGER i, b, f, d, s, dt, ts, flag, grp FROM nums")
c.execute("COPY (SELECT * FROM n2 ORDER BY id) TO 'tests/data/nums.parquet' (FORMAT parquet)")
# multi-file parquet directory: sales
os.makedirs('tests/data/sales', exist_ok=True)
c.execute("""
CREATE TABLE sales AS SELECT
  r::INTEGER AS sale_id,
  (['north','south','east','west'])[(r % 4) + 1] AS region,
  (['widget','gadget','doohickey'])[(r % 3) + 1] AS product,
  ((r * 37) % 11 + 1)::INTEGER AS qty,
  (((r * 7919) % 10000) / 100.0)::DECIMAL(10,2) AS price,
  DATE '2023-01-01' + INTERVAL (r * 3) DAY AS sale_date,
  CASE WHEN r % 10 = 0 THEN NULL ELSE ((r * 13) % 5)::INTEGER END AS rating
FROM range(1, 301) t(r)
""")
c.execute("CREATE OR REPLACE TABLE sales AS SELECT sale_id, region, product, qty, price, sale_date::DATE AS sale_date, rating FROM sales")
for k, (lo, hi) in enumerate([(1, 100), (101, 200), (201, 300)]):
    c.execute(f"COPY (SELECT * FROM sales WHERE sale_id BETWEEN {lo} AND {hi} ORDER BY sale_id) TO 'tests/data/sales/part-{k}.parquet' (FORMAT parquet)")
# hive partitioned
for year in (2022, 2023, 2024):
    os.makedirs(f'tests/data/hive/year={year}', exist_ok=True)
    c.execute(f"""COPY (SELECT (r + {year}*100)::INTEGER AS id, ((r % 12) + 1)::INTEGER AS month,
        ((r * 17 + {year}) % 1000 / 10.0)::DECIMAL(8,2) AS amount,
        (['food','tools','toys'])[(r % 3) + 1] AS category
        FROM range(0, 20 + ({year} - 2022) * 5) t(r) ORDER BY 1)
        TO 'tests/data/hive/year={year}/data.parquet' (FORMAT parquet)""")
# csv directory: events
os.makedirs('tests/data/events', exist_ok=True)
c.execute("""CREATE TABLE events AS SELECT r::BIGINT AS event_id,
   (['click','view','buy'])[(r % 3) + 1] AS kind,
   (r * 31 % 17)::BIGINT AS user_id,
   TIMESTAMP '2024-05-01 00:00:00' + INTERVAL (r * 97) MINUTE AS event_time,
   round((r * 2.75) % 50, 2)::DOUBLE AS value
   FROM range(1, 41) t(r)""")
c.execute("COPY (SELECT * FROM events WHERE event_id <= 20 ORDER BY 1) TO 'tests/data/events/events_1.csv' (HEADER, DELIMITER ',')")
c.execute("COPY (SELECT * FROM events WHERE event_id > 20 ORDER BY 1) TO 'tests/data/events/events_2.csv' (HEADER, DELIMITER ',')")
