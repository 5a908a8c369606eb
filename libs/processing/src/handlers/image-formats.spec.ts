import { thumbnailBox, thumbnailKey } from './image-formats';

describe('thumbnailBox', () => {
  it.each([
    [{}, 256],
    [{ size: 128 }, 128],
    [{ size: 16 }, 16],
    [{ size: 2048 }, 2048],
    [{ size: 8 }, 256],
    [{ size: 4096 }, 256],
    [{ size: 100.5 }, 256],
    [{ size: '128' }, 256],
  ])('config %j → %i px', (config, box) => expect(thumbnailBox(config, 256)).toBe(box));
});

describe('thumbnailKey', () => {
  it('sits under the thumbnails prefix, per session and box', () => {
    expect(thumbnailKey('0b7c6a52-0000-4000-8000-000000000000', 256)).toBe('thumbnails/0b7c6a52-0000-4000-8000-000000000000/256.webp');
  });
});
