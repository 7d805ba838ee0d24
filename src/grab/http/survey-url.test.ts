import { describe, expect, it } from 'vitest';
import { surveyInfoUrlOf, surveyPageOf, surveyUrlMismatch } from './client.js';

// The surveys' User-Agent names the page `iotclean serve` serves: both read IOTCLEAN_PUBLIC_URL.
describe('the survey page URL in the User-Agent', () => {
  it('follows IOTCLEAN_PUBLIC_URL, which serve --public-url defaults to', () => {
    expect(surveyInfoUrlOf({ IOTCLEAN_PUBLIC_URL: 'https://notice.example.jp/' })).toBe('https://notice.example.jp/about-survey');
    expect(surveyInfoUrlOf({ IOTCLEAN_PUBLIC_URL: 'https://notice.example.jp' })).toBe(surveyPageOf('https://notice.example.jp/'));
    expect(surveyUrlMismatch('https://notice.example.jp', surveyInfoUrlOf({ IOTCLEAN_PUBLIC_URL: 'https://notice.example.jp' }))).toBeNull();
  });

  it('takes IOTCLEAN_SURVEY_URL outright, and refuses what cannot go into a header', () => {
    expect(surveyInfoUrlOf({ IOTCLEAN_SURVEY_URL: 'https://elsewhere.example/survey', IOTCLEAN_PUBLIC_URL: 'https://notice.example.jp' })).toBe('https://elsewhere.example/survey');
    expect(surveyInfoUrlOf({ IOTCLEAN_PUBLIC_URL: 'https://notice.example.jp/a b' })).toBe('https://iotclean.example/about-survey');
    expect(surveyInfoUrlOf({ IOTCLEAN_SURVEY_URL: 'javascript:alert(1)' })).toBe('https://iotclean.example/about-survey');
    expect(surveyInfoUrlOf({})).toBe('https://iotclean.example/about-survey');
  });

  it('lets serve say when the surveys would point elsewhere', () => {
    expect(surveyUrlMismatch('https://notice.example.jp', 'https://elsewhere.example/survey')).toContain('IOTCLEAN_PUBLIC_URL=https://notice.example.jp');
    expect(surveyUrlMismatch(undefined, 'https://iotclean.example/about-survey')).toContain('placeholder');
    expect(surveyUrlMismatch(undefined, 'https://notice.example.jp/about-survey')).toBeNull();
  });
});
