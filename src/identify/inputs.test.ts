import { describe, expect, it } from 'vitest';
import { inputsOf } from './inputs.js';
import { ftpFields, httpFields, mqttFields, observation, rtspFields, sshFields, telnetFields } from './test-support.js';

const texts = (o: Parameters<typeof inputsOf>[0]): [string, string][] => inputsOf(o).map((i) => [i.key, i.text]);

describe('inputsOf', () => {
  it('ssh: the ident after "SSH-x.x-", comments included, as Recog ssh_banners.xml expects', () => {
    expect(texts(observation('ssh', sshFields('SSH-2.0-dropbear_2019.78')))).toEqual([['ssh.banner', 'dropbear_2019.78']]);
    expect(texts(observation('ssh', sshFields('SSH-2.0-OpenSSH_6.0p1 Debian-4+deb7u2')))).toEqual([['ssh.banner', 'OpenSSH_6.0p1 Debian-4+deb7u2']]);
    expect(texts(observation('ssh', sshFields('SSH-1.99-Cisco-1.25')))).toEqual([['ssh.banner', 'Cisco-1.25']]);
  });

  it('telnet: banner and prompt trimmed at both ends, and the options it negotiated, sorted', () => {
    const o = observation('telnet', telnetFields('\r\nZXHN H108N V2.5\r\n', 'Login: ', { do: ['naws', 'echo'], will: ['suppress-go-ahead', 'echo'] }));
    expect(texts(o)).toEqual([
      ['telnet.banner', 'ZXHN H108N V2.5\r\nLogin:'],
      ['telnet.options', 'do=echo,naws;will=echo,suppress-go-ahead'],
    ]);
  });

  it('telnet: the whole text the module recorded (prompt included) when it has one', () => {
    const f = { ...telnetFields('ignored', 'login: '), text: '\r\nUser Access Verification\r\n\r\nUsername: ' };
    expect(texts(observation('telnet', f))[0]).toEqual(['telnet.banner', 'User Access Verification\r\n\r\nUsername:']);
  });

  it('x509: RFC 4514 order and escaping, whichever order the name came in', () => {
    const cert = (subject: string) => httpFields({ certificate: { subject, issuer: subject, subjectAltName: null, serialNumber: '1', validFrom: '', validTo: '', selfSigned: true, sha256: '' } });
    const names = (subject: string) => texts(observation('https', cert(subject))).filter(([k]) => k === 'x509.subject').map(([, t]) => t);
    expect(names('C=US, L=Irvine, O=Cisco Systems, Inc., OU=RV042G, CN=74:a2:e6:5c:99:21')).toEqual(['CN=74:a2:e6:5c:99:21,OU=RV042G,O=Cisco Systems\\, Inc.,L=Irvine,C=US']);
    expect(names('CN=WN-AX1167GR, O=I-O DATA DEVICE INC., C=JP')).toEqual(['CN=WN-AX1167GR,O=I-O DATA DEVICE INC.,C=JP']);
  });

  it('ftp: the greeting without reply codes, lines joined with CR LF (Recog ftp_banners.xml)', () => {
    expect(texts(observation('ftp', ftpFields('220 DiskStation FTP server ready.')))).toEqual([['ftp.banner', 'DiskStation FTP server ready.']]);
    expect(texts(observation('ftp', ftpFields('220-this is a banner.\r\n220 example.com FTP server ready.')))).toEqual([
      ['ftp.banner', 'this is a banner.\r\nexample.com FTP server ready.'],
    ]);
  });

  it('http: server, title, the whole WWW-Authenticate and each challenge, cookies, x-powered-by, favicon, certificate, body', () => {
    const f = httpFields({
      server: 'lighttpd/1.4.35',
      title: 'AD1018',
      headers: {
        'www-authenticate': 'Digest realm="SERCOMM CPE Authentication", qop="auth", nonce="x", algorithm=MD5',
        'set-cookie': 'SID=1; Path=/\nlang=en',
        'x-powered-by': 'PHP/5.6.40',
      },
      wwwAuthenticate: [{ scheme: 'Digest', realm: 'SERCOMM CPE Authentication', algorithm: 'MD5' }],
      favicon: { path: '/favicon.ico', mmh3: -1616143106, md5: 'ABCDEF0123456789ABCDEF0123456789', bytes: 10 },
      certificate: {
        subject: 'CN=192.168.1.1, O=Example, C=JP',
        issuer: 'CN=Example CA, O=Example, C=JP',
        subjectAltName: null,
        serialNumber: '01',
        validFrom: '2020-01-01',
        validTo: '2030-01-01',
        selfSigned: false,
        sha256: 'x',
      },
      body: '<html>hi</html>',
    });
    expect(texts(observation('https', f))).toEqual([
      ['http_header.server', 'lighttpd/1.4.35'],
      ['html_title', 'AD1018'],
      ['http_header.wwwauth', 'Digest realm="SERCOMM CPE Authentication", qop="auth", nonce="x", algorithm=MD5'],
      ['http_header.wwwauth', 'Digest realm="SERCOMM CPE Authentication"'],
      ['http_header.cookie', 'SID=1; Path=/'],
      ['http_header.cookie', 'lang=en'],
      ['http_header.x-powered-by', 'PHP/5.6.40'],
      ['favicon.md5', 'abcdef0123456789abcdef0123456789'],
      ['favicon.mmh3', '-1616143106'],
      ['x509.subject', 'CN=192.168.1.1,O=Example,C=JP'],
      ['x509.issuer', 'CN=Example CA,O=Example,C=JP'],
      ['html_body', '<html>hi</html>'],
    ]);
  });

  it('rtsp: the Server header and the realm as a challenge; mqtt: the broker version', () => {
    expect(texts(observation('rtsp', rtspFields('Rtsp Server/3.0', 'Login to 3G0284APAZ12345')))).toEqual([
      ['rtsp_header.server', 'Rtsp Server/3.0'],
      ['rtsp_header.wwwauth', 'Digest realm="Login to 3G0284APAZ12345"'],
    ]);
    expect(texts(observation('mqtt', mqttFields('mosquitto version 2.0.11')))).toEqual([['mqtt.version', 'mosquitto version 2.0.11']]);
    expect(texts(observation('mqtt', mqttFields(null)))).toEqual([]);
    expect(texts(observation('generic', { text: 'SSH-2.0-x\\x00\\xff', bytes: 11 }))).toEqual([['generic.banner', 'SSH-2.0-x\\x00\\xff']]);
  });

  it('gives nothing for unrecognised observations, unknown modules and mistyped fields', () => {
    expect(inputsOf(observation('ssh', sshFields('SSH-2.0-dropbear_2019.78'), { recognised: false }))).toEqual([]);
    expect(inputsOf(observation('gopher', { text: 'x' }))).toEqual([]);
    expect(inputsOf(observation('http', { server: 42, title: ['x'], headers: 'no', wwwAuthenticate: [null, 7, { scheme: 5 }], favicon: { mmh3: 1.5 } }))).toEqual([]);
    expect(inputsOf(observation('telnet', { banner: null, prompt: 3, will: 'echo' }))).toEqual([]);
  });

  it('bounds every text', () => {
    const huge = 'A'.repeat(1_000_000);
    for (const i of inputsOf(observation('http', httpFields({ server: huge, title: huge, body: huge })))) {
      expect(i.text.length).toBeLessThanOrEqual(16_384);
    }
  });
});
