/** The LogStore contract on the in-memory store. */
import { MemoryLogStore } from '../../src/store/memory-log-store.js';
import { logStoreContract } from './contract.js';

logStoreContract('MemoryLogStore', (options) => new MemoryLogStore(options));
