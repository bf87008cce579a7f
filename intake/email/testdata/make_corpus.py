#!/usr/bin/env python3
"""Writes the e-mail parser's corpus (corpus/*.eml): real-shaped reported
messages, made by the project (no real person's mail). Run it from this
folder; the output is committed, so the tests do not need Python.
The shapes follow what the mail programs write: Outlook's forward as an
attachment and inline ("From: … Sent: …"), Gmail's "Forwarded message",
Microsoft 365's Authentication-Results and Safe Links, Proofpoint URL
Defense v2 and v3."""
import base64, io, quopri, zipfile, textwrap

CRLF = "\r\n"

def write(name, text):
    with open("corpus/" + name, "wb") as f:
        f.write(text.replace("\r\n", "\n").replace("\n", CRLF).encode("latin-1") if isinstance(text, str) else text)

def b64(data):
    return "\n".join(textwrap.wrap(base64.b64encode(data).decode(), 76))

SAFE = ("https://eur01.safelinks.protection.outlook.com/?url=https%3A%2F%2Flogin.micros0ft-support.example%2Fverify%3Fid%3D42"
        "&data=05%7C02%7Cstaff%40example.org%7Cabc%7C0&sdata=xyz%3D&reserved=0")
PP2 = "https://urldefense.proofpoint.com/v2/url?u=https-3A__invoice-2Dportal.example_pay-3Fref-3D7781&d=DwMFaQ&c=abc&r=def&m=ghi&s=jkl&e="
PP3 = "https://urldefense.com/v3/__https://docs-share.example/open?user=anna*example.org__;QA!!Abc123!xyzDEF$"

SUSPECT_HEADERS = """Received: from mail-eopbgr130071.outbound.protection.outlook.com (mail-eopbgr130071.outbound.protection.outlook.com [40.107.13.71])
	by mx.example.org (Postfix) with ESMTPS id 4Qx1
	for <staff@example.org>; Mon, 7 Dec 2026 09:12:03 +0000 (UTC)
Received: from sender-host.example (unknown [203.0.113.9])
	by mail-eopbgr130071.outbound.protection.outlook.com with ESMTP; Mon, 7 Dec 2026 09:11:58 +0000
Authentication-Results: mx.example.org;
	spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=bounce.micros0ft-support.example;
	dkim=none (message not signed) header.d=none;
	dmarc=fail action=quarantine header.from=micros0ft-support.example
Return-Path: <bounce@bounce.micros0ft-support.example>
From: "Microsoft 365 Security" <security@micros0ft-support.example>
Reply-To: helpdesk.verify@freemail.example
To: Anna Staff <staff@example.org>
Subject: Action required: verify your mailbox
Date: Mon, 7 Dec 2026 09:11:57 +0000
Message-ID: <phish-0001@micros0ft-support.example>
MIME-Version: 1.0
"""

ALT_BODY = """Content-Type: multipart/alternative; boundary="alt-1"

--alt-1
Content-Type: text/plain; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

Dear user,

Your mailbox will be suspended. Verify now: """ + quopri.encodestring(SAFE.encode()).decode() + """

IT Service Desk
--alt-1
Content-Type: text/html; charset="utf-8"
Content-Transfer-Encoding: quoted-printable

""" + quopri.encodestring(("""<html><body><p>Dear user,</p>
<p>Your mailbox will be suspended. <a href="%s">https://outlook.office.com/verify</a></p>
<p><a href="%s">View invoice</a> &middot; <a href="%s">Shared document</a></p>
<img src="https://tracker.example/pixel.gif?id=42" width="1" height="1">
<script>var x = "https://not-a-link-in-script.example/";</script>
</body></html>""" % (SAFE.replace("&", "&amp;"), PP2.replace("&", "&amp;"), PP3)).encode()).decode() + """
--alt-1--
"""

# 1. The phish as it arrived: multipart/alternative.
write("alternative.eml", SUSPECT_HEADERS + ALT_BODY)

# A zip holding an "invoice" and an HTML credential form.
zbuf = io.BytesIO()
with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr(zipfile.ZipInfo("invoice-7781.pdf.js", date_time=(2026, 12, 7, 9, 0, 0)), "WScript.Echo('this is a harmless test file');\n")
ZIP = zbuf.getvalue()
HTML_ATT = b"""<!doctype html><html><body><form action="https://collect.phish-kit.example/post.php" method="post">
<input name="email"><input name="password" type="password"><button>Sign in</button></form></body></html>
"""

SUSPECT_WITH_ATTACHMENTS = SUSPECT_HEADERS.replace("phish-0001", "phish-0002") + """Content-Type: multipart/mixed; boundary="mix-1"

--mix-1
""" + ALT_BODY.replace("alt-1", "alt-2") + """
--mix-1
Content-Type: application/zip; name="Invoice_7781.zip"
Content-Disposition: attachment; filename="Invoice_7781.zip"
Content-Transfer-Encoding: base64

""" + b64(ZIP) + """
--mix-1
Content-Type: text/html; name="=?UTF-8?B?UmVtaXR0YW5jZSBhZHZpY2Ug4oCTIHNpZ24gaW4uaHRtbA==?="
Content-Disposition: attachment; filename="=?UTF-8?B?UmVtaXR0YW5jZSBhZHZpY2Ug4oCTIHNpZ24gaW4uaHRtbA==?="
Content-Transfer-Encoding: base64

""" + b64(HTML_ATT) + """
--mix-1--
"""
with open("corpus/zip.sha256", "w") as f:
    import hashlib
    f.write(hashlib.sha256(ZIP).hexdigest() + "  Invoice_7781.zip\n")
    f.write(hashlib.sha256(HTML_ATT).hexdigest() + "  Remittance advice – sign in.html\n")

# 2. Outlook: "Forward as attachment" (and the Report Message add-in).
write("outlook-attached.eml", """Received: from EXCH01.example.org (10.0.0.5) by EXCH02.example.org (10.0.0.6) with Microsoft SMTP Server; Mon, 7 Dec 2026 09:20:11 +0000
From: Anna Staff <Anna.Staff@Example.org>
To: Report Phishing <phishing@example.org>
Subject: FW: Action required: verify your mailbox
Date: Mon, 7 Dec 2026 09:20:10 +0000
Message-ID: <AM0PR01MB0001@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="_004_outer_"

--_004_outer_
Content-Type: text/plain; charset="us-ascii"
Content-Transfer-Encoding: 7bit

This looks fake - the link doesn't go to Microsoft. Anna

--_004_outer_
Content-Type: message/rfc822
Content-Disposition: attachment; filename="Action required verify your mailbox.eml"

""" + SUSPECT_WITH_ATTACHMENTS + """
--_004_outer_--
""")

# 3. Gmail: an inline forward, multipart/alternative.
write("gmail-inline.eml", """From: Ben Staff <ben.staff@example.org>
Date: Mon, 7 Dec 2026 10:02:44 +0000
Message-ID: <CAFwd0001@mail.gmail.com>
Subject: Fwd: Your invoice is ready
To: phishing@example.org
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="000000000000gmail"

--000000000000gmail
Content-Type: text/plain; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

Got this today, is it real?

---------- Forwarded message ---------
From: Accounts Payable <ap@invoice-portal.example>
Date: Mon, 7 Dec 2026 at 09:58
Subject: Your invoice is ready
To: <ben.staff@example.org>


Please pay invoice 7781: https://invoice-portal.example/pay?ref=3D7781

--000000000000gmail
Content-Type: text/html; charset="UTF-8"
Content-Transfer-Encoding: quoted-printable

<div dir=3D"ltr">Got this today, is it real?<br><br><div class=3D"gmail_quote"><div dir=3D"ltr" class=3D"gmail_attr">---------- Forwarded message ---------<br>From: <strong class=3D"gmail_sendername" dir=3D"auto">Accounts Payable</strong> <span dir=3D"auto">&lt;<a href=3D"mailto:ap@invoice-portal.example">ap@invoice-portal.example</a>&gt;</span><br>Date: Mon, 7 Dec 2026 at 09:58<br>Subject: Your invoice is ready<br>To: &lt;<a href=3D"mailto:ben.staff@example.org">ben.staff@example.org</a>&gt;<br></div><br><br>Please pay <a href=3D"https://www.google.com/url?q=3Dhttps://invoice-portal.example/pay?ref%3D7781&amp;sa=3DD">invoice 7781</a></div></div>

--000000000000gmail--
""")

# 4. Outlook inline forward ("From: … Sent: …") in Windows-1252, with an
#    encoded-word subject in ISO-8859-1.
body1252 = ("Bonjour,\n\n________________________________\nFrom: Service Client <client@banque-securite.example>\n"
            "Sent: 07 December 2026 08:40\nTo: Chlo\u00e9 Staff <chloe.staff@example.org>\nSubject: R\u00e9activez votre acc\u00e8s\n\n"
            "Votre acc\u00e8s est bloqu\u00e9 \u2013 r\u00e9activez-le ici : https://banque-securite.example/r\u00e9activer\n"
            "Cordialement, le service cr\u00e9dit \u20ac\n").encode("cp1252")
write("outlook-inline-cp1252.eml", ("""From: =?iso-8859-1?q?Chlo=E9_Staff?= <chloe.staff@example.org>
To: phishing@example.org
Subject: =?iso-8859-1?Q?TR=A0:_R=E9activez_votre_acc=E8s?=
Date: Mon, 7 Dec 2026 08:45:00 +0100
Message-ID: <inline-cp1252@example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset="windows-1252"
Content-Transfer-Encoding: quoted-printable

""" + quopri.encodestring(body1252).decode("ascii")))

# 5. Nested forward: a colleague forwarded Anna's forward (Gmail style,
#    attached as an .eml file with a generic type).
anna = open("corpus/outlook-attached.eml", "rb").read().decode("latin-1")
write("nested-forward.eml", """From: Dan Lead <dan.lead@example.org>
To: phishing@example.org
Subject: Fwd: FW: Action required: verify your mailbox
Date: Mon, 7 Dec 2026 11:00:00 +0000
Message-ID: <nested-0001@example.org>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="dan-1"

--dan-1
Content-Type: text/plain; charset=utf-8

Passing on Anna's report.

--dan-1
Content-Type: application/octet-stream; name="FW Action required.eml"
Content-Disposition: attachment; filename="FW Action required.eml"
Content-Transfer-Encoding: base64

""" + b64(anna.encode("latin-1")) + """
--dan-1--
""")

# 6. Encoded-word subjects and a legacy charset: KOI8-R body, Shift_JIS name.
koi = "Ваш пароль истекает сегодня. Обновите: http://pochta-obnovlenie.example/login\n".encode("koi8-r")
write("koi8r-encoded-words.eml", """From: =?KOI8-R?B?8M/e1M/X2cog08XS18nT?= <support@pochta-obnovlenie.example>
To: staff@example.org
Subject: =?UTF-8?B?0JLQsNGIINC/0LDRgNC+0LvRjCDQuNGB0YLQtdC60LDQtdGC?= =?UTF-8?Q?_=E2=80=93_=F0=9F=94=92?=
Date: Tue, 8 Dec 2026 07:00:00 +0300
Message-ID: <koi8r-0001@pochta-obnovlenie.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="k1"

--k1
Content-Type: text/plain; charset=koi8-r
Content-Transfer-Encoding: base64

""" + b64(koi) + """
--k1
Content-Type: application/octet-stream; name="=?Shift_JIS?B?g2aBW4NeLnR4dA==?="
Content-Disposition: attachment; filename="=?Shift_JIS?B?g2aBW4NeLnR4dA==?="
Content-Transfer-Encoding: base64

""" + b64(b"data\n") + """
--k1--
""")

# 7. 500 links on 500 hosts.
links = "\n".join("https://host%03d.lure-campaign.example/p/%d" % (i, i) for i in range(500))
write("500-urls.eml", """From: spam@lure-campaign.example
To: staff@example.org
Subject: Many links
Date: Tue, 8 Dec 2026 07:00:00 +0000
Message-ID: <many@lure-campaign.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

""" + links + "\n")

# 8. Truncated: the forward's attached message is cut inside its zip.
full = open("corpus/outlook-attached.eml", "rb").read()
cut = full.index(b"Content-Transfer-Encoding: base64") + 400
write("truncated.eml", full[:cut])
