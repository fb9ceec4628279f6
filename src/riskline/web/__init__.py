"""riskline.web: the duty officer's screen — an offline dashboard served by the node (docs/dashboard.md).

- ``errors`` — the package's error root and its tree;
- ``accounts`` — operator roles, what each may do, password hashes;
- ``alarms`` — the alarm life (raise → acknowledge → resolve, snooze with a reason) as pure transitions;
- ``live`` — the live picture (platforms, tracks, open encounters) and the numbered event stream pushed to pages;
- ``replay`` — a recording or scenario replayed through the watch into the live picture, paced on a clock;
- ``backend`` — what the pages read and do, over a watch database and (optionally) a node;
- ``app`` — the HTTP face: sessions, CSRF, roles checked on every action, Server-Sent Events, static assets;
- ``server`` — running it: a uvicorn server on loopback, in the foreground or beside a node.
"""
