// The export formats: each makes its files from a checkpoint's model.
import { ExportFormat } from './exported-model';
import { WEB_FORMAT } from './web';

export const EXPORT_FORMATS: Record<string, ExportFormat> = { web: WEB_FORMAT };
