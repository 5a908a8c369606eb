/** The small file of scenario 2 (closed and open loop): 4 KiB, one pre-signed PUT. */
export const SIZE = 4096;

export const smallFileBody = () => ({ filename: 'small.bin', contentType: 'application/octet-stream', size: SIZE });
