import { describe, expect, it } from 'vitest';
import { bindCpeValue, formatCpe23, toCpe23 } from './cpe.js';

describe('formatCpe23 (NIST IR 7695 §6.2 formatted string binding)', () => {
  it('binds the eleven attributes with ANY for the unset ones', () => {
    expect(formatCpe23({ part: 'a', vendor: 'openbsd', product: 'openssh', version: '7.4' })).toBe('cpe:2.3:a:openbsd:openssh:7.4:*:*:*:*:*:*:*');
    expect(formatCpe23({ part: 'h', vendor: 'TP-LINK', product: 'TD-W8960N', version: null })).toBe('cpe:2.3:h:tp-link:td-w8960n:*:*:*:*:*:*:*:*');
  });

  it('leaves letters, digits, "_", "-" and "." bare and quotes every other printable character', () => {
    expect(bindCpeValue('2019.78')).toBe('2019.78');
    expect(bindCpeValue('a:b')).toBe('a\\:b');
    expect(bindCpeValue('6.0p1+deb7u2')).toBe('6.0p1\\+deb7u2');
    expect(bindCpeValue('I-O DATA')).toBe('i-o_data');
    expect(bindCpeValue('AT&T (US)')).toBe('at\\&t_\\(us\\)');
    expect(bindCpeValue('back\\slash')).toBe('back\\\\slash');
  });

  it('quotes "*" and "?" so they stay literal, and gives NA for "-" and ANY for empty', () => {
    expect(bindCpeValue('v*')).toBe('v\\*');
    expect(bindCpeValue('?')).toBe('\\?');
    expect(bindCpeValue('-')).toBe('-');
    expect(bindCpeValue('')).toBe('*');
    expect(bindCpeValue(null)).toBe('*');
  });

  it('replaces characters outside printable ASCII, which WFN values cannot hold', () => {
    expect(bindCpeValue('クイック')).toBe('____');
    expect(bindCpeValue('a\u0000b')).toBe('a_b');
  });

  it('converts Recog-style 2.2 URIs, decoding percent escapes and the packed edition (~edition~sw_edition~target_sw~target_hw~other)', () => {
    expect(toCpe23('cpe:/a:xiongmaitech:uc-httpd:1.0.0')).toBe('cpe:2.3:a:xiongmaitech:uc-httpd:1.0.0:*:*:*:*:*:*:*');
    expect(toCpe23('cpe:/a:acme:micro_httpd:-')).toBe('cpe:2.3:a:acme:micro_httpd:-:*:*:*:*:*:*:*');
    expect(toCpe23('cpe:/a:openbsd:openssh:')).toBe('cpe:2.3:a:openbsd:openssh:*:*:*:*:*:*:*:*');
    expect(toCpe23('cpe:/a:foo%21:bar')).toBe('cpe:2.3:a:foo\\!:bar:*:*:*:*:*:*:*:*');
    expect(toCpe23('cpe:/o:microsoft:windows:10::~~~x64~~')).toBe('cpe:2.3:o:microsoft:windows:10:*:*:*:*:x64:*:*');
    expect(toCpe23('cpe:2.3:a:f5:nginx:1.2:*:*:*:*:*:*:*')).toBe('cpe:2.3:a:f5:nginx:1.2:*:*:*:*:*:*:*');
    expect(toCpe23('not a cpe')).toBeNull();
    expect(toCpe23('cpe:2.3:a:short')).toBeNull();
  });
});

describe("NVD's spelling", () => {
  it("binds NVD's vendor name and moves a glued pre-release tag to the update attribute", () => {
    expect(formatCpe23({ part: 'h', vendor: 'D-Link', product: 'DCS-2530L', version: null })).toBe('cpe:2.3:h:dlink:dcs-2530l:*:*:*:*:*:*:*:*');
    expect(toCpe23('cpe:/o:draytek:vigor2960_firmware:1.3.1_Beta')).toBe('cpe:2.3:o:draytek:vigor2960_firmware:1.3.1:beta:*:*:*:*:*:*');
    // A version without a separator ("1.15b01") and an explicit update stay as they are.
    expect(formatCpe23({ part: 'o', vendor: 'dlink', product: 'dir-605l_firmware', version: '1.15b01' })).toBe('cpe:2.3:o:dlink:dir-605l_firmware:1.15b01:*:*:*:*:*:*:*');
    expect(formatCpe23({ part: 'o', vendor: 'x', product: 'y', version: '2.0_beta', update: 'sp1' })).toBe('cpe:2.3:o:x:y:2.0_beta:sp1:*:*:*:*:*:*');
  });
});
